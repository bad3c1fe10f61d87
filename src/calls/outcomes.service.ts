import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { conflict, notFound } from '../errors';
import { Outcome } from './outcome.entity';

export const outcomeBody = z
  .object({
    name: z.string().trim().min(1).max(100),
    active: z.boolean().optional(),
    sortOrder: z.number().int().min(0).max(10_000).optional(),
  })
  .strict();
export const outcomePatchBody = outcomeBody.partial().strict();

const dto = (o: Outcome) => ({ id: o.id, code: o.code, name: o.name, active: o.active, sortOrder: o.sortOrder });
export type OutcomesService = ReturnType<typeof createOutcomesService>;

export function createOutcomesService(ds: DataSource) {
  const repo = ds.getRepository(Outcome);
  async function nameFree(name: string, exceptId?: string) {
    const other = await repo.createQueryBuilder('o').where('lower(o.name) = lower(:name)', { name }).getOne();
    if (other && other.id !== exceptId) throw conflict(`An outcome named "${name}" already exists`);
  }
  return {
    async list(includeInactive: boolean) {
      const rows = await repo.find({ where: includeInactive ? {} : { active: true }, order: { sortOrder: 'ASC', name: 'ASC' } });
      return rows.map(dto);
    },
    async create(body: z.output<typeof outcomeBody>) {
      await nameFree(body.name);
      const max = (await repo.maximum('sortOrder')) ?? 0;
      return dto(await repo.save({ name: body.name, active: body.active ?? true, sortOrder: body.sortOrder ?? max + 10 }));
    },
    async update(id: string, body: z.output<typeof outcomePatchBody>) {
      const o = await repo.findOneBy({ id });
      if (!o) throw notFound('Outcome');
      if (body.name) await nameFree(body.name, id);
      if (Object.keys(body).length) await repo.update({ id }, body); // TypeORM rejects an empty SET
      return dto((await repo.findOneBy({ id }))!);
    },
    /** Calls keep their annotation: an outcome in use is deactivated rather than deleted. */
    async remove(id: string) {
      const o = await repo.findOneBy({ id });
      if (!o) throw notFound('Outcome');
      const used = await ds.query(`SELECT 1 FROM calls WHERE outcome_id = $1 LIMIT 1`, [id]);
      if (used.length) await repo.update({ id }, { active: false });
      else await repo.delete({ id });
      return { deleted: used.length === 0, deactivated: used.length > 0 };
    },
  };
}
