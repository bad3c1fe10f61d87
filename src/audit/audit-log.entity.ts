import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** Who did what, when: logins, user and token changes, recording listens. Append-only. */
@Entity({ name: 'audit_log' })
export class AuditLog {
  @PrimaryGeneratedColumn('uuid') id: string;
  @CreateDateColumn({ type: 'timestamptz' }) at: Date;
  @Column({ name: 'actor_user_id', type: 'uuid', nullable: true }) actorUserId: string | null;
  @Column({ type: 'text' }) action: string;
  @Column({ name: 'entity_type', type: 'text', nullable: true }) entityType: string | null;
  @Column({ name: 'entity_id', type: 'text', nullable: true }) entityId: string | null;
  @Column({ type: 'jsonb', default: '{}' }) details: object;
  @Column({ type: 'text', nullable: true }) ip: string | null;
}
