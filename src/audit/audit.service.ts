import type { DataSource } from 'typeorm';
import { z } from 'zod';
import type { Principal } from '../users/principal';
import { AuditLog } from './audit-log.entity';

export type AuditService = ReturnType<typeof createAuditService>;

export const listAuditQuery = z
  .object({
    /** an action or an action family: `recording.` matches recording.listen and recording.download */
    action: z
      .string()
      .regex(/^[a-z][a-z-]*(\.[a-z-]*)?$/, 'must be an action such as recording.listen, or a prefix such as recording.')
      .optional(),
    actor: z.uuid({ message: 'must be a user id' }).optional(),
    /** the object acted on, e.g. a call id */
    entity: z.string().min(1).max(100).optional(),
    /** keyset paging: entries strictly older than this cursor (from nextCursor) */
    cursor: z
      .string()
      .regex(/^\d{1,18}$/, 'must be a cursor from nextCursor')
      .optional(),
    limit: z.coerce.number().int().min(1, 'must be between 1 and 200').max(200, 'must be between 1 and 200').default(100),
  })
  .strict();
export type ListAuditQuery = z.output<typeof listAuditQuery>;

export interface AuditEntryDto {
  id: string;
  at: string;
  actor: { id: string; name: string } | null;
  action: string;
  entityType: string | null;
  entityId: string | null;
  details: Record<string, unknown>;
  ip: string | null;
}

/** Append-only record of who did what. Never stores secrets (callers pass field names, not values). */
export function createAuditService(ds: DataSource) {
  const repo = ds.getRepository(AuditLog);
  return {
    async record(
      actor: Principal | null,
      action: string,
      entityType: string | null,
      entityId: string | null,
      details: Record<string, unknown> = {},
      ip: string | null = null,
    ): Promise<void> {
      await repo.insert(repo.create({ actorUserId: actor?.userId ?? null, action, entityType, entityId, details, ip }));
    },

    /** Newest first (in the order written), with the actor's name; filters by action (or family), actor and object. */
    async list(q: Partial<ListAuditQuery> = {}): Promise<{ items: AuditEntryDto[]; nextCursor: string | null }> {
      const limit = q.limit ?? 100;
      const where: string[] = [];
      const params: unknown[] = [];
      if (q.action) {
        params.push(q.action.endsWith('.') ? `${q.action.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : q.action);
        where.push(q.action.endsWith('.') ? `a.action LIKE $${params.length}` : `a.action = $${params.length}`);
      }
      if (q.actor) {
        params.push(q.actor);
        where.push(`a.actor_user_id = $${params.length}`);
      }
      if (q.entity) {
        params.push(q.entity);
        where.push(`a.entity_id = $${params.length}`);
      }
      if (q.cursor) {
        params.push(q.cursor);
        where.push(`a.seq < $${params.length}::bigint`);
      }
      params.push(limit + 1);
      const rows: {
        id: string;
        seq: string;
        at: Date;
        actor_user_id: string | null;
        actor_name: string | null;
        action: string;
        entity_type: string | null;
        entity_id: string | null;
        details: Record<string, unknown>;
        ip: string | null;
      }[] = await ds.query(
        `SELECT a.id, a.seq::text AS seq, a.at, a.actor_user_id, u.name AS actor_name, a.action, a.entity_type, a.entity_id, a.details, a.ip
           FROM audit_log a LEFT JOIN users u ON u.id = a.actor_user_id
          ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
          ORDER BY a.seq DESC
          LIMIT $${params.length}`,
        params,
      );
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        items: page.map((r) => ({
          id: r.id,
          at: r.at.toISOString(),
          actor: r.actor_user_id ? { id: r.actor_user_id, name: r.actor_name ?? '' } : null,
          action: r.action,
          entityType: r.entity_type,
          entityId: r.entity_id,
          details: r.details,
          ip: r.ip,
        })),
        nextCursor: rows.length > limit && last ? last.seq : null,
      };
    },
  };
}
