import type { DataSource } from 'typeorm';
import type { z } from 'zod';
import type { AuditService } from '../audit/audit.service';
import { conflict, notFound } from '../errors';
import type { Principal } from '../users/principal';
import { ReviewCriterion } from './review-criterion.entity';
import type { criterionBody, CriterionDto, criterionPatchBody } from './reviews.dto';

export const toCriterionDto = (c: ReviewCriterion): CriterionDto => ({
  id: c.id,
  name: c.name,
  description: c.description,
  kind: c.kind,
  weight: c.weight,
  position: c.position,
  active: c.active,
});

export type CriteriaService = ReturnType<typeof createCriteriaService>;

/**
 * The admin-defined scorecard. Reviews keep the scores they were given: a criterion used in a
 * review is deactivated rather than deleted, and its kind is fixed once used (a 1–5 answer means
 * nothing as yes/no). A weight change applies to the reviews scored after it; stored scores stay.
 */
export function createCriteriaService(deps: { ds: DataSource; audit: AuditService }) {
  const { ds, audit } = deps;
  const repo = ds.getRepository(ReviewCriterion);

  async function nameFree(name: string, exceptId?: string) {
    const other = await repo.createQueryBuilder('c').where('lower(c.name) = lower(:name)', { name }).getOne();
    if (other && other.id !== exceptId) throw conflict(`A criterion named "${name}" already exists`);
  }
  const used = async (id: string) => (await ds.query(`SELECT 1 FROM review_scores WHERE criterion_id = $1 LIMIT 1`, [id])).length > 0;

  return {
    /** Active criteria in scorecard order; `includeInactive` adds the retired ones. */
    async list(includeInactive: boolean): Promise<CriterionDto[]> {
      const rows = await repo.find({ where: includeInactive ? {} : { active: true }, order: { position: 'ASC', createdAt: 'ASC' } });
      return rows.map(toCriterionDto);
    },

    async create(actor: Principal | null, body: z.output<typeof criterionBody>): Promise<CriterionDto> {
      await nameFree(body.name);
      const max = (await repo.maximum('position')) ?? 0;
      const saved = await repo.save(
        repo.create({
          name: body.name,
          description: body.description || null,
          kind: body.kind,
          weight: body.weight,
          position: body.position ?? max + 10,
        }),
      );
      await audit.record(actor, 'review-criterion.create', 'review_criterion', saved.id, {
        name: saved.name,
        kind: saved.kind,
        weight: saved.weight,
      });
      return toCriterionDto(saved);
    },

    async update(actor: Principal, id: string, body: z.output<typeof criterionPatchBody>): Promise<CriterionDto> {
      const c = await repo.findOneBy({ id });
      if (!c) throw notFound('Criterion');
      if (body.name) await nameFree(body.name, id);
      if (body.kind && body.kind !== c.kind && (await used(id))) {
        throw conflict(`"${c.name}" is already used in reviews: its kind cannot change (create a new criterion instead)`);
      }
      const changes = { ...body, ...(body.description !== undefined && { description: body.description || null }) };
      await repo.update({ id }, changes);
      await audit.record(actor, 'review-criterion.update', 'review_criterion', id, { fields: Object.keys(body) });
      return toCriterionDto((await repo.findOneBy({ id }))!);
    },

    /** Deleted when never used, else deactivated (the reviews that used it keep their scores). */
    async remove(actor: Principal, id: string): Promise<{ deleted: boolean; deactivated: boolean }> {
      const c = await repo.findOneBy({ id });
      if (!c) throw notFound('Criterion');
      let inUse = await used(id);
      if (!inUse) {
        try {
          await repo.delete({ id });
        } catch (err) {
          // scored in a review since the check (review_scores_criterion_id_fkey restricts): retire it instead
          if ((err as { driverError?: { code?: string } }).driverError?.code !== '23503') throw err;
          inUse = true;
        }
      }
      if (inUse) await repo.update({ id }, { active: false });
      await audit.record(actor, 'review-criterion.delete', 'review_criterion', id, { name: c.name, deactivated: inUse });
      return { deleted: !inUse, deactivated: inUse };
    },
  };
}
