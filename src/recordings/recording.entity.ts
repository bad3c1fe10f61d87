import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { RecordingState } from '../calls/call-record';

/** The audio of a call: where it is and how far its download from Asterisk got. */
@Entity({ name: 'recordings' })
export class Recording {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'call_id', type: 'uuid' }) callId: string;
  @Column({ name: 'file_name', type: 'text' }) fileName: string;
  @Column({ type: 'text', default: 'pending' }) state: RecordingState;
  @Column({ name: 'duration_seconds', type: 'double precision', nullable: true }) durationSeconds: number | null;
  @Column({ name: 'size_bytes', type: 'bigint', nullable: true }) sizeBytes: string | null;
  @Column({ type: 'integer', default: 0 }) attempts: number;
  @Column({ name: 'last_error', type: 'text', nullable: true }) lastError: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
}
