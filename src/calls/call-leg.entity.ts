import { Column, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import type { LegResult } from './call-record';
import type { Call } from './call.entity';

/** An agent phone that was called or joined the conversation; `seq` keeps their order. */
@Entity({ name: 'call_legs' })
export class CallLeg {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'call_id', type: 'uuid' }) callId: string;
  @ManyToOne('Call', (c: Call) => c.legs, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'call_id', foreignKeyConstraintName: 'call_legs_call_id_fkey' })
  call?: Call;
  @Column({ type: 'integer' }) seq: number;
  @Column({ type: 'text' }) extension: string;
  @Column({ name: 'user_id', type: 'uuid', nullable: true }) userId: string | null;
  @Column({ name: 'ringing_at', type: 'timestamptz', nullable: true }) ringingAt: Date | null;
  @Column({ name: 'answered_at', type: 'timestamptz', nullable: true }) answeredAt: Date | null;
  @Column({ name: 'ended_at', type: 'timestamptz', nullable: true }) endedAt: Date | null;
  @Column({ type: 'text', nullable: true }) result: LegResult | null;
}
