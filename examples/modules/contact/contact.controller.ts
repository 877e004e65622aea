import { Response } from "express";
import { TenantRequest } from "../_shared/types";
import { notFound, pick } from "../_shared/utils";
import { ContactMessage } from "./contact.model";

const EDITABLE = ["name", "email", "phone", "subject", "message"] as const;

export async function listContactMessages(req: TenantRequest, res: Response) {
  const items = await ContactMessage.find({ tenant: req.tenant })
    .sort({ createdAt: -1 })
    .limit(100)
    .lean();
  res.json({ success: true, data: items });
}

export async function getContactMessage(req: TenantRequest, res: Response) {
  const item = await ContactMessage.findOne({ _id: req.params.id, tenant: req.tenant }).lean();
  if (!item) return notFound(res, "ContactMessage");
  res.json({ success: true, data: item });
}

export async function createContactMessage(req: TenantRequest, res: Response) {
  const item = await ContactMessage.create({ ...pick(req.body, EDITABLE), tenant: req.tenant });
  res.status(201).json({ success: true, data: item });
}

export async function updateContactMessage(req: TenantRequest, res: Response) {
  const item = await ContactMessage.findOneAndUpdate(
    { _id: req.params.id, tenant: req.tenant },
    { $set: pick(req.body, EDITABLE) },
    { new: true, runValidators: true }
  );
  if (!item) return notFound(res, "ContactMessage");
  res.json({ success: true, data: item });
}

export async function deleteContactMessage(req: TenantRequest, res: Response) {
  const result = await ContactMessage.deleteOne({ _id: req.params.id, tenant: req.tenant });
  if (result.deletedCount === 0) return notFound(res, "ContactMessage");
  res.status(204).end();
}
