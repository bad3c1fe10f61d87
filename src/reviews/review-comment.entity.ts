import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** A remark on a review, optionally pinned to a moment of the recording; a reply names its parent. */
@Entity({ name: 'review_comments' })
export class ReviewComment {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'review_id', type: 'uuid' }) reviewId: string;
  @Column({ name: 'parent_id', type: 'uuid', nullable: true }) parentId: string | null;
  @Column({ name: 'author_id', type: 'uuid', nullable: true }) authorId: string | null;
  /** seconds into the recording, or null for the review as a whole */
  @Column({ name: 'at_seconds', type: 'double precision', nullable: true }) atSeconds: number | null;
  @Column({ type: 'text' }) body: string;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
}
