import { Response } from "express";
import { TenantRequest } from "../_shared/types";
import { notFound, pick } from "../_shared/utils";
import { Subscriber } from "./newsletter.model";

const EDITABLE = ["email", "locale", "isConfirmed"] as const;

export async function listSubscribers(req: TenantRequest, res: Response) {
  const items = await Subscriber.find({ tenant: req.tenant, unsubscribedAt: null })
    .sort({ createdAt: -1 })
    .limit(100)
    .lean();
  res.json({ success: true, data: items });
}

export async function getSubscriber(req: TenantRequest, res: Response) {
  const item = await Subscriber.findOne({ _id: req.params.id, tenant: req.tenant }).lean();
  if (!item) return notFound(res, "Subscriber");
  res.json({ success: true, data: item });
}

export async function createSubscriber(req: TenantRequest, res: Response) {
  const item = await Subscriber.create({ ...pick(req.body, EDITABLE), tenant: req.tenant });
  res.status(201).json({ success: true, data: item });
}

export async function updateSubscriber(req: TenantRequest, res: Response) {
  const item = await Subscriber.findOneAndUpdate(
    { _id: req.params.id, tenant: req.tenant },
    { $set: pick(req.body, EDITABLE) },
    { new: true, runValidators: true }
  );
  if (!item) return notFound(res, "Subscriber");
  res.json({ success: true, data: item });
}

export async function deleteSubscriber(req: TenantRequest, res: Response) {
  const result = await Subscriber.deleteOne({ _id: req.params.id, tenant: req.tenant });
  if (result.deletedCount === 0) return notFound(res, "Subscriber");
  res.status(204).end();
}
