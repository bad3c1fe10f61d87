import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

export type ReviewState = 'draft' | 'submitted';

/** One reviewer's assessment of one call (unique per call and reviewer). */
@Entity({ name: 'reviews' })
export class Review {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'call_id', type: 'uuid' }) callId: string;
  @Column({ name: 'reviewer_id', type: 'uuid', nullable: true }) reviewerId: string | null;
  /** the call's agent when the review was created */
  @Column({ name: 'agent_user_id', type: 'uuid', nullable: true }) agentUserId: string | null;
  @Column({ type: 'text', default: 'draft' }) state: ReviewState;
  /** 0..100 over the scored criteria (score.ts); null when nothing is scored */
  @Column({ type: 'double precision', nullable: true }) score: number | null;
  @Column({ type: 'text', nullable: true }) summary: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
  @Column({ name: 'submitted_at', type: 'timestamptz', nullable: true }) submittedAt: Date | null;
}
