import { Router } from 'express';
import { principal, requireAuth, requireRole } from '../http/auth.middleware';
import { parse, uuidParam } from '../http/validate';
import type { CriteriaService } from './criteria.service';
import type { ReviewQueue } from './review-queue';
import {
  commentBody,
  criterionBody,
  criterionPatchBody,
  listCriteriaQuery,
  listReviewsQuery,
  reviewPatchBody,
  reviewQueueQuery,
} from './reviews.dto';
import type { ReviewsService } from './reviews.service';

export function reviewsRoutes(deps: { criteria: CriteriaService; reviews: ReviewsService; reviewQueue: ReviewQueue }): Router {
  const { criteria, reviews, reviewQueue } = deps;
  const router = Router();
  const admin = requireRole('admin');
  const reviewer = requireRole('supervisor', 'admin');

  router.get('/api/review-criteria', requireAuth, async (req, res) => {
    const q = parse(listCriteriaQuery, req.query, 'query');
    res.json({ items: await criteria.list(q.all === true && principal(req).role === 'admin') });
  });
  router.post('/api/review-criteria', admin, async (req, res) => {
    res.status(201).json(await criteria.create(principal(req), parse(criterionBody, req.body, 'body')));
  });
  router.patch('/api/review-criteria/:id', admin, async (req, res) => {
    const { id } = parse(uuidParam, req.params, 'params');
    res.json(await criteria.update(principal(req), id, parse(criterionPatchBody, req.body, 'body')));
  });
  router.delete('/api/review-criteria/:id', admin, async (req, res) => {
    res.json(await criteria.remove(principal(req), parse(uuidParam, req.params, 'params').id));
  });

  router.get('/api/reviews/queue', reviewer, async (req, res) => {
    res.json(await reviewQueue.list(principal(req), parse(reviewQueueQuery, req.query, 'query')));
  });
  router.get('/api/reviews', requireAuth, async (req, res) => {
    res.json(await reviews.list(principal(req), parse(listReviewsQuery, req.query, 'query')));
  });
  router.get('/api/reviews/:id', requireAuth, async (req, res) => {
    res.json(await reviews.get(principal(req), parse(uuidParam, req.params, 'params').id));
  });
  router.patch('/api/reviews/:id', requireAuth, async (req, res) => {
    const { id } = parse(uuidParam, req.params, 'params');
    res.json(await reviews.update(principal(req), id, parse(reviewPatchBody, req.body, 'body')));
  });
  router.post('/api/reviews/:id/comments', requireAuth, async (req, res) => {
    const { id } = parse(uuidParam, req.params, 'params');
    res.status(201).json(await reviews.comment(principal(req), id, parse(commentBody, req.body, 'body'), req.ip ?? null));
  });

  router.get('/api/calls/:id/reviews', requireAuth, async (req, res) => {
    res.json({ items: await reviews.forCall(principal(req), parse(uuidParam, req.params, 'params').id) });
  });
  router.post('/api/calls/:id/reviews', reviewer, async (req, res) => {
    const { review, created } = await reviews.start(principal(req), parse(uuidParam, req.params, 'params').id);
    res.status(created ? 201 : 200).json(review);
  });
  return router;
}
