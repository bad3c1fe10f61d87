import { Router } from 'express';
import { principal, requireAuth } from '../http/auth.middleware';
import { parse, uuidParam } from '../http/validate';
import { contactBody, contactPatchBody, listQuery, lookupQuery, organizationBody, organizationPatchBody } from './contacts.dto';
import type { ContactsService } from './contacts.service';

export function contactsRoutes(deps: { contacts: ContactsService }): Router {
  const { contacts } = deps;
  const router = Router();
  router.use(['/api/contacts', '/api/organizations'], requireAuth);

  router.get('/api/contacts/lookup', async (req, res) => {
    res.json(await contacts.lookup(parse(lookupQuery, req.query, 'query').phone));
  });
  router.get('/api/contacts', async (req, res) => {
    res.json(await contacts.listContacts(parse(listQuery, req.query, 'query')));
  });
  router.post('/api/contacts', async (req, res) => {
    res.status(201).json(await contacts.createContact(principal(req), parse(contactBody, req.body, 'body')));
  });
  router.get('/api/contacts/:id', async (req, res) => {
    res.json(await contacts.getContact(parse(uuidParam, req.params, 'params').id));
  });
  router.patch('/api/contacts/:id', async (req, res) => {
    const { id } = parse(uuidParam, req.params, 'params');
    res.json(await contacts.updateContact(principal(req), id, parse(contactPatchBody, req.body, 'body')));
  });
  router.delete('/api/contacts/:id', async (req, res) => {
    await contacts.deleteContact(principal(req), parse(uuidParam, req.params, 'params').id);
    res.status(204).end();
  });

  router.get('/api/organizations', async (req, res) => {
    res.json(await contacts.listOrganizations(parse(listQuery, req.query, 'query')));
  });
  router.post('/api/organizations', async (req, res) => {
    res.status(201).json(await contacts.createOrganization(parse(organizationBody, req.body, 'body')));
  });
  router.get('/api/organizations/:id', async (req, res) => {
    res.json(await contacts.getOrganization(parse(uuidParam, req.params, 'params').id));
  });
  router.patch('/api/organizations/:id', async (req, res) => {
    const { id } = parse(uuidParam, req.params, 'params');
    res.json(await contacts.updateOrganization(id, parse(organizationPatchBody, req.body, 'body')));
  });
  router.delete('/api/organizations/:id', async (req, res) => {
    await contacts.deleteOrganization(principal(req), parse(uuidParam, req.params, 'params').id);
    res.status(204).end();
  });
  return router;
}
