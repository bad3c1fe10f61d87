import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A review's answer to one criterion: yes_no 0|1, scale 1..5. */
@Entity({ name: 'review_scores' })
export class ReviewScore {
  @PrimaryColumn({ name: 'review_id', type: 'uuid' }) reviewId: string;
  @PrimaryColumn({ name: 'criterion_id', type: 'uuid' }) criterionId: string;
  @Column({ type: 'smallint' }) value: number;
}
