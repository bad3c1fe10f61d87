import { Router } from 'express';
import { z } from 'zod';
import { principal, requireAuth, requireRole } from '../http/auth.middleware';
import { parse, queryBoolean, uuidParam } from '../http/validate';
import { annotateCallBody, listCallsQuery } from './call.dto';
import type { CallsService } from './calls.service';
import { originateBody, type ClickToCallService } from './click-to-call.service';
import { outcomeBody, outcomePatchBody, type OutcomesService } from './outcomes.service';

export const listOutcomesQuery = z.object({ all: queryBoolean.optional() }).strict();

export function callsRoutes(deps: { calls: CallsService; outcomes: OutcomesService; clickToCall: ClickToCallService }): Router {
  const { calls, outcomes, clickToCall } = deps;
  const router = Router();
  const admin = requireRole('admin');

  router.get('/api/calls', requireAuth, async (req, res) => {
    res.json(await calls.list(principal(req), parse(listCallsQuery, req.query, 'query')));
  });
  router.post('/api/calls/originate', requireAuth, async (req, res) => {
    res.status(202).json(await clickToCall.originate(principal(req), parse(originateBody, req.body, 'body'), req.ip ?? null));
  });
  router.get('/api/calls/:id', requireAuth, async (req, res) => {
    res.json(await calls.get(principal(req), parse(uuidParam, req.params, 'params').id));
  });
  router.patch('/api/calls/:id', requireAuth, async (req, res) => {
    const { id } = parse(uuidParam, req.params, 'params');
    res.json(await calls.annotate(principal(req), id, parse(annotateCallBody, req.body, 'body')));
  });

  router.get('/api/outcomes', requireAuth, async (req, res) => {
    const q = parse(listOutcomesQuery, req.query, 'query');
    res.json({ items: await outcomes.list(q.all === true && principal(req).role === 'admin') });
  });
  router.post('/api/outcomes', admin, async (req, res) => {
    res.status(201).json(await outcomes.create(parse(outcomeBody, req.body, 'body')));
  });
  router.patch('/api/outcomes/:id', admin, async (req, res) => {
    const { id } = parse(uuidParam, req.params, 'params');
    res.json(await outcomes.update(id, parse(outcomePatchBody, req.body, 'body')));
  });
  router.delete('/api/outcomes/:id', admin, async (req, res) => {
    res.json(await outcomes.remove(parse(uuidParam, req.params, 'params').id));
  });
  return router;
}
