import { z } from 'zod';
import type { CallRecordDto } from '../calls/call-record';
import { DIRECTIONS } from '../calls/call-record';
import { queryBoolean } from '../http/validate';
import type { Role } from '../users/user.entity';
import type { ReviewState } from './review.entity';
import { CRITERION_KINDS, type CriterionKind } from './score';

// ---- criteria

export const listCriteriaQuery = z.object({ all: queryBoolean.optional() }).strict();

export const criterionBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    description: z.string().trim().max(2000).nullable().optional(),
    kind: z.enum(CRITERION_KINDS as [CriterionKind, ...CriterionKind[]], { message: "must be 'yes_no' or 'scale'" }),
    weight: z.number().int('must be a whole number').min(1, 'must be between 1 and 100').max(100, 'must be between 1 and 100'),
    position: z.number().int().min(0).max(1_000_000).optional(),
  })
  .strict();
export const criterionPatchBody = criterionBody
  .extend({ active: z.boolean() })
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'give at least one field to change' });

export interface CriterionDto {
  id: string;
  name: string;
  description: string | null;
  kind: CriterionKind;
  weight: number;
  position: number;
  active: boolean;
}

// ---- reviews

const share = (name: string) =>
  z.coerce
    .number({ message: `${name} must be a number` })
    .min(0, 'must be between 0 and 1')
    .max(1, 'must be between 0 and 1')
    .optional();
const seconds = z.coerce
  .number({ message: 'must be a number of seconds' })
  .min(0, 'must be 0 or more')
  .max(86_400 * 7)
  .optional();

export const reviewQueueQuery = z
  .object({
    agent: z.uuid({ message: 'must be a user id' }).optional(),
    from: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time' }).optional(),
    to: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time' }).optional(),
    outcome: z.uuid({ message: 'must be an outcome id' }).optional(),
    direction: z.enum(DIRECTIONS as [string, ...string[]]).optional(),
    minDuration: seconds,
    maxDuration: seconds,
    reviewed: queryBoolean.optional(),
    sample: z.coerce
      .number()
      .int('must be a whole number')
      .min(1, 'must be between 1 and 100')
      .max(100, 'must be between 1 and 100')
      .optional(),
    seed: z.string().min(1).max(100).optional(),
    minTalkShare: share('minTalkShare'),
    maxTalkShare: share('maxTalkShare'),
    minSilence: share('minSilence'),
    maxSilence: share('maxSilence'),
    minOvertalk: share('minOvertalk'),
    maxOvertalk: share('maxOvertalk'),
    minMonologue: seconds,
    cursor: z.string().max(200).optional(),
    limit: z.coerce.number().int().min(1, 'must be between 1 and 100').max(100, 'must be between 1 and 100').default(50),
  })
  .strict();
export type ReviewQueueQuery = z.output<typeof reviewQueueQuery>;

export const listReviewsQuery = z
  .object({
    agent: z.uuid({ message: 'must be a user id' }).optional(),
    cursor: z.string().max(200).optional(),
    limit: z.coerce.number().int().min(1, 'must be between 1 and 100').max(100, 'must be between 1 and 100').default(50),
  })
  .strict();
export type ListReviewsQuery = z.output<typeof listReviewsQuery>;

export const reviewPatchBody = z
  .object({
    /** value null clears the answer */
    scores: z
      .array(
        z
          .object({
            criterionId: z.uuid({ message: 'must be a criterion id' }),
            value: z.number().int('must be a whole number').min(0).max(5).nullable(),
          })
          .strict(),
      )
      .max(200)
      .optional(),
    summary: z.string().trim().max(10_000).nullable().optional(),
    submit: z.literal(true, { message: 'must be true (a submitted review is not withdrawn)' }).optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'give at least one of scores, summary, submit' });
export type ReviewPatchBody = z.output<typeof reviewPatchBody>;

export const commentBody = z
  .object({
    body: z.string().trim().min(1, 'must not be empty').max(4000, 'must be at most 4000 characters'),
    atSeconds: z.number().min(0, 'must be 0 or more').nullable().optional(),
    parentId: z.uuid({ message: 'must be a comment id' }).nullable().optional(),
  })
  .strict();
export type CommentBody = z.output<typeof commentBody>;

export interface CommentDto {
  id: string;
  parentId: string | null;
  author: { id: string; name: string; role: Role } | null;
  atSeconds: number | null;
  body: string;
  createdAt: string;
}

export interface ReviewDto {
  id: string;
  callId: string;
  state: ReviewState;
  score: number | null;
  summary: string | null;
  reviewer: { id: string; name: string } | null;
  agent: { id: string; name: string } | null;
  /** the criteria answered, in scorecard order (inactive ones too, when answered before they were retired) */
  scores: { criterionId: string; name: string; kind: CriterionKind; weight: number; value: number }[];
  comments: CommentDto[];
  createdAt: string;
  updatedAt: string;
  submittedAt: string | null;
}

/** What the queue shows of a call's review: the caller's own, else the latest submitted one. */
export interface ReviewSummary {
  id: string;
  state: ReviewState;
  score: number | null;
  reviewerName: string | null;
  submittedAt: string | null;
}

export interface QueueItem {
  call: CallRecordDto;
  review: ReviewSummary | null;
}
