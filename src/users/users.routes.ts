import { Router } from 'express';
import { principal, requireRole } from '../http/auth.middleware';
import { parse, uuidParam } from '../http/validate';
import type { AuthService } from './auth.service';
import { createTokenBody, createUserBody, updateUserBody } from './users.dto';
import type { UsersService } from './users.service';

/** Admin only: users with their extensions, and API tokens. */
export function usersRoutes(deps: { users: UsersService; auth: AuthService }): Router {
  const { users, auth } = deps;
  const router = Router();
  const admin = requireRole('admin');

  router.get('/api/users', admin, async (_req, res) => {
    res.json({ items: await users.list() });
  });
  router.post('/api/users', admin, async (req, res) => {
    res.status(201).json(await users.create(principal(req), parse(createUserBody, req.body, 'body')));
  });
  router.get('/api/users/:id', admin, async (req, res) => {
    res.json(await users.get(parse(uuidParam, req.params, 'params').id));
  });
  router.patch('/api/users/:id', admin, async (req, res) => {
    const { id } = parse(uuidParam, req.params, 'params');
    res.json(await users.update(principal(req), id, parse(updateUserBody, req.body, 'body')));
  });
  router.delete('/api/users/:id', admin, async (req, res) => {
    await users.remove(principal(req), parse(uuidParam, req.params, 'params').id);
    res.status(204).end();
  });

  router.get('/api/tokens', admin, async (_req, res) => {
    res.json({ items: await auth.listApiTokens() });
  });
  router.post('/api/tokens', admin, async (req, res) => {
    const body = parse(createTokenBody, req.body, 'body');
    res.status(201).json(await auth.createApiToken(principal(req), body.name, body.userId));
  });
  router.delete('/api/tokens/:id', admin, async (req, res) => {
    await auth.revokeApiToken(principal(req), parse(uuidParam, req.params, 'params').id);
    res.status(204).end();
  });
  return router;
}
