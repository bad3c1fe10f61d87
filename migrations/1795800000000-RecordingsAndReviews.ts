import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Recordings: where the verified copy lives, how the fetch from Asterisk goes (retries with
 * backoff), the audio format, and the talk analytics of two-channel recordings (columns for the
 * review queue's filters, the whole result as jsonb). Reviews: admin-defined scorecard criteria,
 * one review per call and reviewer, its scores, and comments pinned to a moment of the recording
 * (replies point at their parent).
 */
export class RecordingsAndReviews1795800000000 implements MigrationInterface {
  name = 'RecordingsAndReviews1795800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE recordings
        ADD COLUMN source text,
        ADD COLUMN stored_path text,
        ADD COLUMN sha256 text,
        ADD COLUMN channels smallint,
        ADD COLUMN sample_rate integer,
        ADD COLUMN customer_channel smallint,
        ADD COLUMN next_attempt_at timestamptz,
        ADD COLUMN stored_at timestamptz,
        ADD COLUMN purged_at timestamptz,
        ADD COLUMN deleted_from_pbx_at timestamptz,
        ADD COLUMN analytics jsonb,
        ADD COLUMN agent_talk_share double precision,
        ADD COLUMN silence_share double precision,
        ADD COLUMN overtalk_share double precision,
        ADD COLUMN longest_monologue_seconds double precision,
        ADD CONSTRAINT recordings__chk__source CHECK (source IN ('ari', 'dir')),
        ADD CONSTRAINT recordings__chk__customer_channel CHECK (customer_channel IN (0, 1)),
        ADD CONSTRAINT recordings__uq__stored_path UNIQUE (stored_path)`);
    // the fetcher's work list: recordings still to fetch, soonest first
    await q.query(`CREATE INDEX recordings__idx__pending ON recordings (next_attempt_at) WHERE state IN ('pending', 'failed')`);
    // the retention purge: stored recordings, oldest first
    await q.query(`CREATE INDEX recordings__idx__stored_at ON recordings (stored_at) WHERE state = 'stored'`);

    await q.query(`
      CREATE TABLE review_criteria (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        name text NOT NULL,
        description text,
        kind text NOT NULL,
        weight integer NOT NULL DEFAULT 1,
        position integer NOT NULL DEFAULT 0,
        active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT review_criteria_pkey PRIMARY KEY (id),
        CONSTRAINT review_criteria__chk__kind CHECK (kind IN ('yes_no', 'scale')),
        CONSTRAINT review_criteria__chk__weight CHECK (weight BETWEEN 1 AND 100)
      )`);
    await q.query(`
      CREATE TABLE reviews (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        call_id uuid NOT NULL,
        reviewer_id uuid,
        agent_user_id uuid,
        state text NOT NULL DEFAULT 'draft',
        score double precision,
        summary text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        submitted_at timestamptz,
        CONSTRAINT reviews_pkey PRIMARY KEY (id),
        CONSTRAINT reviews__uq__call_id_reviewer_id UNIQUE (call_id, reviewer_id),
        CONSTRAINT reviews__chk__state CHECK (state IN ('draft', 'submitted')),
        CONSTRAINT reviews__chk__score CHECK (score BETWEEN 0 AND 100),
        CONSTRAINT reviews_call_id_fkey FOREIGN KEY (call_id) REFERENCES calls (id) ON DELETE CASCADE,
        CONSTRAINT reviews_reviewer_id_fkey FOREIGN KEY (reviewer_id) REFERENCES users (id) ON DELETE SET NULL,
        CONSTRAINT reviews_agent_user_id_fkey FOREIGN KEY (agent_user_id) REFERENCES users (id) ON DELETE SET NULL
      )`);
    await q.query(`CREATE INDEX reviews__idx__agent_user_id ON reviews (agent_user_id, submitted_at DESC)`);
    await q.query(`CREATE INDEX reviews__idx__submitted_at ON reviews (submitted_at DESC) WHERE state = 'submitted'`);
    await q.query(`
      CREATE TABLE review_scores (
        review_id uuid NOT NULL,
        criterion_id uuid NOT NULL,
        value smallint NOT NULL,
        CONSTRAINT review_scores_pkey PRIMARY KEY (review_id, criterion_id),
        CONSTRAINT review_scores__chk__value CHECK (value BETWEEN 0 AND 5),
        CONSTRAINT review_scores_review_id_fkey FOREIGN KEY (review_id) REFERENCES reviews (id) ON DELETE CASCADE,
        CONSTRAINT review_scores_criterion_id_fkey FOREIGN KEY (criterion_id) REFERENCES review_criteria (id) ON DELETE RESTRICT
      )`);
    await q.query(`CREATE INDEX review_scores__idx__criterion_id ON review_scores (criterion_id)`);
    await q.query(`
      CREATE TABLE review_comments (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        review_id uuid NOT NULL,
        parent_id uuid,
        author_id uuid,
        at_seconds double precision,
        body text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT review_comments_pkey PRIMARY KEY (id),
        CONSTRAINT review_comments__chk__at_seconds CHECK (at_seconds >= 0),
        CONSTRAINT review_comments_review_id_fkey FOREIGN KEY (review_id) REFERENCES reviews (id) ON DELETE CASCADE,
        CONSTRAINT review_comments_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES review_comments (id) ON DELETE CASCADE,
        CONSTRAINT review_comments_author_id_fkey FOREIGN KEY (author_id) REFERENCES users (id) ON DELETE SET NULL
      )`);
    await q.query(`CREATE INDEX review_comments__idx__review_id ON review_comments (review_id, created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE review_comments`);
    await q.query(`DROP TABLE review_scores`);
    await q.query(`DROP TABLE reviews`);
    await q.query(`DROP TABLE review_criteria`);
    await q.query(`DROP INDEX recordings__idx__stored_at`);
    await q.query(`DROP INDEX recordings__idx__pending`);
    await q.query(`
      ALTER TABLE recordings
        DROP CONSTRAINT recordings__uq__stored_path,
        DROP CONSTRAINT recordings__chk__customer_channel,
        DROP CONSTRAINT recordings__chk__source,
        DROP COLUMN longest_monologue_seconds,
        DROP COLUMN overtalk_share,
        DROP COLUMN silence_share,
        DROP COLUMN agent_talk_share,
        DROP COLUMN analytics,
        DROP COLUMN deleted_from_pbx_at,
        DROP COLUMN purged_at,
        DROP COLUMN stored_at,
        DROP COLUMN next_attempt_at,
        DROP COLUMN customer_channel,
        DROP COLUMN sample_rate,
        DROP COLUMN channels,
        DROP COLUMN sha256,
        DROP COLUMN stored_path,
        DROP COLUMN source`);
  }
}
