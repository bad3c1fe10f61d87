import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { CriterionKind } from './score';

/** One line of the review scorecard, defined by admins: a yes/no question or a 1–5 scale, weighted. */
@Entity({ name: 'review_criteria' })
export class ReviewCriterion {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ type: 'text' }) name: string;
  @Column({ type: 'text', nullable: true }) description: string | null;
  @Column({ type: 'text' }) kind: CriterionKind;
  /** 1..100 */
  @Column({ type: 'integer', default: 1 }) weight: number;
  @Column({ type: 'integer', default: 0 }) position: number;
  /** a criterion used in a review is deactivated rather than deleted */
  @Column({ type: 'boolean', default: true }) active: boolean;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
}
