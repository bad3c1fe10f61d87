import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Users, contacts and organizations, calls with their legs and recordings, outcomes, tokens, audit. */
export class InitialSchema1795716000000 implements MigrationInterface {
  name = 'InitialSchema1795716000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE users (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        email text NOT NULL,
        name text NOT NULL,
        password_hash text NOT NULL,
        role text NOT NULL,
        locale text NOT NULL DEFAULT 'uk',
        active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT users_pkey PRIMARY KEY (id),
        CONSTRAINT users__uq__email UNIQUE (email),
        CONSTRAINT users__chk__role CHECK (role IN ('admin', 'supervisor', 'manager')),
        CONSTRAINT users__chk__locale CHECK (locale IN ('uk', 'en')),
        CONSTRAINT users__chk__email_lower CHECK (email = lower(email))
      )`);
    await q.query(`
      CREATE TABLE extensions (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        number text NOT NULL,
        user_id uuid,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT extensions_pkey PRIMARY KEY (id),
        CONSTRAINT extensions__uq__number UNIQUE (number),
        CONSTRAINT extensions_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL
      )`);
    await q.query(`CREATE INDEX extensions__idx__user_id ON extensions (user_id)`);
    await q.query(`
      CREATE TABLE sessions (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        token_hash text NOT NULL,
        user_id uuid NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        ip text,
        user_agent text,
        CONSTRAINT sessions_pkey PRIMARY KEY (id),
        CONSTRAINT sessions__uq__token_hash UNIQUE (token_hash),
        CONSTRAINT sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX sessions__idx__user_id ON sessions (user_id)`);
    await q.query(`CREATE INDEX sessions__idx__expires_at ON sessions (expires_at)`);
    await q.query(`
      CREATE TABLE api_tokens (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        name text NOT NULL,
        token_hash text NOT NULL,
        user_id uuid NOT NULL,
        created_by uuid,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        revoked_at timestamptz,
        CONSTRAINT api_tokens_pkey PRIMARY KEY (id),
        CONSTRAINT api_tokens__uq__token_hash UNIQUE (token_hash),
        CONSTRAINT api_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
        CONSTRAINT api_tokens_created_by_fkey FOREIGN KEY (created_by) REFERENCES users (id) ON DELETE SET NULL
      )`);
    await q.query(`
      CREATE TABLE organizations (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        name text NOT NULL,
        notes text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT organizations_pkey PRIMARY KEY (id)
      )`);
    await q.query(`CREATE INDEX organizations__idx__name ON organizations (lower(name) text_pattern_ops)`);
    await q.query(`
      CREATE TABLE contacts (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        first_name text NOT NULL,
        last_name text,
        organization_id uuid,
        owner_id uuid,
        birthday date,
        email text,
        notes text,
        tags text[] NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT contacts_pkey PRIMARY KEY (id),
        CONSTRAINT contacts_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE SET NULL,
        CONSTRAINT contacts_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES users (id) ON DELETE SET NULL
      )`);
    await q.query(`CREATE INDEX contacts__idx__organization_id ON contacts (organization_id)`);
    await q.query(`CREATE INDEX contacts__idx__owner_id ON contacts (owner_id)`);
    await q.query(`CREATE INDEX contacts__idx__first_name ON contacts (lower(first_name) text_pattern_ops)`);
    await q.query(`CREATE INDEX contacts__idx__last_name ON contacts (lower(last_name) text_pattern_ops)`);
    await q.query(`
      CREATE TABLE phones (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        raw text NOT NULL,
        e164 text NOT NULL,
        label text,
        contact_id uuid,
        organization_id uuid,
        CONSTRAINT phones_pkey PRIMARY KEY (id),
        CONSTRAINT phones_contact_id_fkey FOREIGN KEY (contact_id) REFERENCES contacts (id) ON DELETE CASCADE,
        CONSTRAINT phones_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
        CONSTRAINT phones__chk__one_owner CHECK ((contact_id IS NULL) <> (organization_id IS NULL))
      )`);
    await q.query(`CREATE INDEX phones__idx__e164 ON phones (e164)`);
    await q.query(`CREATE INDEX phones__idx__contact_id ON phones (contact_id)`);
    await q.query(`CREATE INDEX phones__idx__organization_id ON phones (organization_id)`);
    await q.query(`
      CREATE TABLE outcomes (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        code text,
        name text NOT NULL,
        active boolean NOT NULL DEFAULT true,
        sort_order integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT outcomes_pkey PRIMARY KEY (id),
        CONSTRAINT outcomes__uq__name UNIQUE (name),
        CONSTRAINT outcomes__uq__code UNIQUE (code)
      )`);
    await q.query(`
      INSERT INTO outcomes (code, name, sort_order) VALUES
        ('sale', 'Sale', 10), ('consultation', 'Consultation', 20), ('complaint', 'Complaint', 30),
        ('callback-needed', 'Callback needed', 40), ('wrong-number', 'Wrong number', 50), ('spam', 'Spam', 60)`);
    await q.query(`
      CREATE TABLE calls (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        pbx_call_id text NOT NULL,
        version bigint NOT NULL DEFAULT 1,
        direction text NOT NULL,
        state text NOT NULL,
        disposition text,
        missed boolean NOT NULL DEFAULT false,
        external_number text,
        external_number_raw text,
        tracking_number text,
        started_at timestamptz NOT NULL,
        answered_at timestamptz,
        ended_at timestamptz,
        agent_extension text,
        agent_user_id uuid,
        hangup_by text,
        end_reason text,
        contact_id uuid,
        organization_id uuid,
        contact_match text NOT NULL DEFAULT 'none',
        related_pbx_call_ids text[] NOT NULL DEFAULT '{}',
        recording_file text,
        topic text,
        outcome_id uuid,
        notes text,
        annotated_by uuid,
        annotated_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT calls_pkey PRIMARY KEY (id),
        CONSTRAINT calls__uq__pbx_call_id UNIQUE (pbx_call_id),
        CONSTRAINT calls__chk__direction CHECK (direction IN ('inbound', 'outbound', 'internal')),
        CONSTRAINT calls__chk__state CHECK (state IN ('ringing', 'talking', 'ended')),
        CONSTRAINT calls__chk__disposition CHECK (disposition IN ('answered', 'no-answer', 'busy', 'failed')),
        CONSTRAINT calls__chk__hangup_by CHECK (hangup_by IN ('customer', 'agent', 'system')),
        CONSTRAINT calls__chk__end_reason CHECK (end_reason IN ('normal', 'pbx-lost', 'pbx-restart', 'stale')),
        CONSTRAINT calls__chk__contact_match CHECK (contact_match IN ('matched', 'none', 'ambiguous')),
        CONSTRAINT calls_agent_user_id_fkey FOREIGN KEY (agent_user_id) REFERENCES users (id) ON DELETE SET NULL,
        CONSTRAINT calls_contact_id_fkey FOREIGN KEY (contact_id) REFERENCES contacts (id) ON DELETE SET NULL,
        CONSTRAINT calls_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE SET NULL,
        CONSTRAINT calls_outcome_id_fkey FOREIGN KEY (outcome_id) REFERENCES outcomes (id) ON DELETE SET NULL,
        CONSTRAINT calls_annotated_by_fkey FOREIGN KEY (annotated_by) REFERENCES users (id) ON DELETE SET NULL
      )`);
    // Keyset pagination (newest first) and its filtered variants.
    await q.query(`CREATE INDEX calls__idx__started_at ON calls (started_at DESC, id DESC)`);
    await q.query(`CREATE INDEX calls__idx__agent_user_id ON calls (agent_user_id, started_at DESC, id DESC)`);
    await q.query(`CREATE INDEX calls__idx__contact_id ON calls (contact_id, started_at DESC, id DESC)`);
    await q.query(`CREATE INDEX calls__idx__organization_id ON calls (organization_id, started_at DESC, id DESC)`);
    await q.query(`CREATE INDEX calls__idx__external_number ON calls (external_number, started_at DESC, id DESC)`);
    await q.query(`CREATE INDEX calls__idx__missed ON calls (started_at DESC, id DESC) WHERE missed`);
    await q.query(`CREATE INDEX calls__idx__open ON calls (started_at) WHERE state <> 'ended'`);
    await q.query(`
      CREATE TABLE call_legs (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        call_id uuid NOT NULL,
        seq integer NOT NULL,
        extension text NOT NULL,
        user_id uuid,
        ringing_at timestamptz,
        answered_at timestamptz,
        ended_at timestamptz,
        result text,
        CONSTRAINT call_legs_pkey PRIMARY KEY (id),
        CONSTRAINT call_legs__uq__call_id_seq UNIQUE (call_id, seq),
        CONSTRAINT call_legs__chk__result CHECK (result IN ('answered', 'no-answer', 'busy', 'answered-elsewhere', 'failed')),
        CONSTRAINT call_legs_call_id_fkey FOREIGN KEY (call_id) REFERENCES calls (id) ON DELETE CASCADE,
        CONSTRAINT call_legs_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL
      )`);
    await q.query(`CREATE INDEX call_legs__idx__user_id ON call_legs (user_id, call_id)`);
    await q.query(`
      CREATE TABLE recordings (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        call_id uuid NOT NULL,
        file_name text NOT NULL,
        state text NOT NULL DEFAULT 'pending',
        duration_seconds double precision,
        size_bytes bigint,
        attempts integer NOT NULL DEFAULT 0,
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT recordings_pkey PRIMARY KEY (id),
        CONSTRAINT recordings__uq__call_id UNIQUE (call_id),
        CONSTRAINT recordings__chk__state CHECK (state IN ('pending', 'stored', 'failed', 'missing', 'purged', 'empty')),
        CONSTRAINT recordings_call_id_fkey FOREIGN KEY (call_id) REFERENCES calls (id) ON DELETE CASCADE
      )`);
    await q.query(`
      CREATE TABLE audit_log (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        at timestamptz NOT NULL DEFAULT now(),
        actor_user_id uuid,
        action text NOT NULL,
        entity_type text,
        entity_id text,
        details jsonb NOT NULL DEFAULT '{}',
        ip text,
        CONSTRAINT audit_log_pkey PRIMARY KEY (id),
        CONSTRAINT audit_log_actor_user_id_fkey FOREIGN KEY (actor_user_id) REFERENCES users (id) ON DELETE SET NULL
      )`);
    await q.query(`CREATE INDEX audit_log__idx__at ON audit_log (at DESC)`);
    await q.query(`CREATE INDEX audit_log__idx__entity ON audit_log (entity_type, entity_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'audit_log',
      'recordings',
      'call_legs',
      'calls',
      'outcomes',
      'phones',
      'contacts',
      'organizations',
      'api_tokens',
      'sessions',
      'extensions',
      'users',
    ]) {
      await q.query(`DROP TABLE ${table}`);
    }
  }
}
