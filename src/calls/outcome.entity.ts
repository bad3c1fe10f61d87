import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** The admin-managed list of call outcomes. Seeded ones carry a `code` the UI translates. */
@Entity({ name: 'outcomes' })
export class Outcome {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ type: 'text', nullable: true }) code: string | null;
  @Column({ type: 'text' }) name: string;
  @Column({ type: 'boolean', default: true }) active: boolean;
  @Column({ name: 'sort_order', type: 'integer', default: 0 }) sortOrder: number;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
}
