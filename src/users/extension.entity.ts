import { Column, CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import type { User } from './user.entity';

/** A phone extension (`101`) on the PBX and the user whose desk it rings on. */
@Entity({ name: 'extensions' })
export class Extension {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ type: 'text' }) number: string;
  @Column({ name: 'user_id', type: 'uuid', nullable: true }) userId: string | null;
  @ManyToOne('User', (u: User) => u.extensions, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'extensions_user_id_fkey' })
  user?: User | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
}
