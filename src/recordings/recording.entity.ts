import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { RecordingState } from '../calls/call-record';
import type { TalkAnalytics } from './talk-analytics';

/** Where a recording was fetched from: Asterisk's REST interface, or a directory shared with Asterisk. */
export type RecordingSource = 'ari' | 'dir';

/**
 * The audio of a call: where it is, how far its download from Asterisk got (attempts, backoff), its
 * format once stored, and the talk analytics of a two-channel recording (whole, and copied into
 * columns the review queue filters on).
 */
@Entity({ name: 'recordings' })
export class Recording {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'call_id', type: 'uuid' }) callId: string;
  /** as the PBX named it, relative to its recordings directory: `calltrack/in-1795715947.0.wav` */
  @Column({ name: 'file_name', type: 'text' }) fileName: string;
  @Column({ type: 'text', default: 'pending' }) state: RecordingState;
  @Column({ type: 'text', nullable: true }) source: RecordingSource | null;
  /** relative to RECORDINGS_DIR, made from the id only (`2026/11/<id>.wav`); null unless stored */
  @Column({ name: 'stored_path', type: 'text', nullable: true }) storedPath: string | null;
  @Column({ type: 'text', nullable: true }) sha256: string | null;
  @Column({ name: 'duration_seconds', type: 'double precision', nullable: true }) durationSeconds: number | null;
  @Column({ name: 'size_bytes', type: 'bigint', nullable: true }) sizeBytes: string | null;
  @Column({ type: 'smallint', nullable: true }) channels: number | null;
  @Column({ name: 'sample_rate', type: 'integer', nullable: true }) sampleRate: number | null;
  /** which channel of a two-channel recording is the customer; null for mono */
  @Column({ name: 'customer_channel', type: 'smallint', nullable: true }) customerChannel: 0 | 1 | null;
  @Column({ type: 'integer', default: 0 }) attempts: number;
  @Column({ name: 'last_error', type: 'text', nullable: true }) lastError: string | null;
  /** when the fetcher may try (again); null: now. A failed row with null has given up (POST …/retry). */
  @Column({ name: 'next_attempt_at', type: 'timestamptz', nullable: true }) nextAttemptAt: Date | null;
  @Column({ name: 'stored_at', type: 'timestamptz', nullable: true }) storedAt: Date | null;
  @Column({ name: 'purged_at', type: 'timestamptz', nullable: true }) purgedAt: Date | null;
  @Column({ name: 'deleted_from_pbx_at', type: 'timestamptz', nullable: true }) deletedFromPbxAt: Date | null;
  @Column({ type: 'jsonb', nullable: true }) analytics: TalkAnalytics | null;
  @Column({ name: 'agent_talk_share', type: 'double precision', nullable: true }) agentTalkShare: number | null;
  @Column({ name: 'silence_share', type: 'double precision', nullable: true }) silenceShare: number | null;
  @Column({ name: 'overtalk_share', type: 'double precision', nullable: true }) overtalkShare: number | null;
  @Column({ name: 'longest_monologue_seconds', type: 'double precision', nullable: true }) longestMonologueSeconds: number | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
}
