import { Response } from "express";
import { TenantRequest } from "../_shared/types";
import { notFound, pick } from "../_shared/utils";
import { CalendarEvent } from "./events.model";

const EDITABLE = [
  "title",
  "slug",
  "location",
  "startsAt",
  "endsAt",
  "capacity",
  "isPublished",
] as const;

export async function listCalendarEvents(req: TenantRequest, res: Response) {
  const items = await CalendarEvent.find({ tenant: req.tenant, isPublished: true, startsAt: { $gte: new Date() } })
    .sort({ startsAt: 1 })
    .limit(100)
    .lean();
  res.json({ success: true, data: items });
}

export async function getCalendarEvent(req: TenantRequest, res: Response) {
  const item = await CalendarEvent.findOne({ _id: req.params.id, tenant: req.tenant }).lean();
  if (!item) return notFound(res, "CalendarEvent");
  res.json({ success: true, data: item });
}

export async function createCalendarEvent(req: TenantRequest, res: Response) {
  const item = await CalendarEvent.create({ ...pick(req.body, EDITABLE), tenant: req.tenant });
  res.status(201).json({ success: true, data: item });
}

export async function updateCalendarEvent(req: TenantRequest, res: Response) {
  const item = await CalendarEvent.findOneAndUpdate(
    { _id: req.params.id, tenant: req.tenant },
    { $set: pick(req.body, EDITABLE) },
    { new: true, runValidators: true }
  );
  if (!item) return notFound(res, "CalendarEvent");
  res.json({ success: true, data: item });
}

export async function deleteCalendarEvent(req: TenantRequest, res: Response) {
  const result = await CalendarEvent.deleteOne({ _id: req.params.id, tenant: req.tenant });
  if (result.deletedCount === 0) return notFound(res, "CalendarEvent");
  res.status(204).end();
}
