import { Router } from 'express';
import { principal, requireRole } from '../http/auth.middleware';
import { parse } from '../http/validate';
import { agentsCsvQuery, agentsReportQuery, type ReportsService } from './reports.service';

export function reportsRoutes(deps: { reports: ReportsService }): Router {
  const { reports } = deps;
  const router = Router();
  const supervisor = requireRole('supervisor', 'admin');

  router.get('/api/reports/agents', supervisor, async (req, res) => {
    res.json(await reports.agents(parse(agentsReportQuery, req.query, 'query')));
  });
  router.get('/api/reports/agents.csv', supervisor, async (req, res) => {
    const { lang, ...q } = parse(agentsCsvQuery, req.query, 'query');
    const { fileName, csv } = await reports.agentsCsv(q, lang ?? principal(req).locale);
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="${fileName}"`);
    res.setHeader('Cache-Control', 'no-store');
    res.send(csv);
  });
  return router;
}
