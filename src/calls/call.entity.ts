import { Column, CreateDateColumn, Entity, OneToMany, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { CallState, ContactMatch, Direction, Disposition, EndReason, HangupBy } from './call-record';
import type { CallLeg } from './call-leg.entity';

/** One customer conversation, keyed by Asterisk's linkedid. Durations are derived, never stored. */
@Entity({ name: 'calls' })
export class Call {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'pbx_call_id', type: 'text' }) pbxCallId: string;
  /** strictly increasing per call: max(previous + 1, now in µs), so every writer can bump it */
  @Column({ type: 'bigint', default: 1, transformer: { to: (v: number) => v, from: (v: string | null) => (v === null ? v : Number(v)) } })
  version: number;
  @Column({ type: 'text' }) direction: Direction;
  @Column({ type: 'text' }) state: CallState;
  @Column({ type: 'text', nullable: true }) disposition: Disposition | null;
  @Column({ type: 'boolean', default: false }) missed: boolean;
  @Column({ name: 'external_number', type: 'text', nullable: true }) externalNumber: string | null;
  @Column({ name: 'external_number_raw', type: 'text', nullable: true }) externalNumberRaw: string | null;
  @Column({ name: 'tracking_number', type: 'text', nullable: true }) trackingNumber: string | null;
  @Column({ name: 'started_at', type: 'timestamptz' }) startedAt: Date;
  @Column({ name: 'answered_at', type: 'timestamptz', nullable: true }) answeredAt: Date | null;
  @Column({ name: 'ended_at', type: 'timestamptz', nullable: true }) endedAt: Date | null;
  @Column({ name: 'agent_extension', type: 'text', nullable: true }) agentExtension: string | null;
  @Column({ name: 'agent_user_id', type: 'uuid', nullable: true }) agentUserId: string | null;
  @Column({ name: 'hangup_by', type: 'text', nullable: true }) hangupBy: HangupBy | null;
  @Column({ name: 'end_reason', type: 'text', nullable: true }) endReason: EndReason | null;
  @Column({ name: 'contact_id', type: 'uuid', nullable: true }) contactId: string | null;
  @Column({ name: 'organization_id', type: 'uuid', nullable: true }) organizationId: string | null;
  @Column({ name: 'contact_match', type: 'text', default: 'none' }) contactMatch: ContactMatch;
  @Column({ name: 'related_pbx_call_ids', type: 'text', array: true, default: '{}' }) relatedPbxCallIds: string[];
  @Column({ name: 'recording_file', type: 'text', nullable: true }) recordingFile: string | null;
  @Column({ type: 'text', nullable: true }) topic: string | null;
  @Column({ name: 'outcome_id', type: 'uuid', nullable: true }) outcomeId: string | null;
  @Column({ type: 'text', nullable: true }) notes: string | null;
  @Column({ name: 'annotated_by', type: 'uuid', nullable: true }) annotatedBy: string | null;
  @Column({ name: 'annotated_at', type: 'timestamptz', nullable: true }) annotatedAt: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
  @OneToMany('CallLeg', (l: CallLeg) => l.call) legs?: CallLeg[];
}
