import { Response } from "express";
import { TenantRequest } from "../_shared/types";
import { notFound, pick } from "../_shared/utils";
import { TeamMember } from "./team.model";

const EDITABLE = [
  "fullName",
  "position",
  "bio",
  "photo",
  "linkedin",
  "order",
] as const;

export async function listTeamMembers(req: TenantRequest, res: Response) {
  const items = await TeamMember.find({ tenant: req.tenant })
    .sort({ order: 1 })
    .limit(100)
    .lean();
  res.json({ success: true, data: items });
}

export async function getTeamMember(req: TenantRequest, res: Response) {
  const item = await TeamMember.findOne({ _id: req.params.id, tenant: req.tenant }).lean();
  if (!item) return notFound(res, "TeamMember");
  res.json({ success: true, data: item });
}

export async function createTeamMember(req: TenantRequest, res: Response) {
  const item = await TeamMember.create({ ...pick(req.body, EDITABLE), tenant: req.tenant });
  res.status(201).json({ success: true, data: item });
}

export async function updateTeamMember(req: TenantRequest, res: Response) {
  const item = await TeamMember.findOneAndUpdate(
    { _id: req.params.id, tenant: req.tenant },
    { $set: pick(req.body, EDITABLE) },
    { new: true, runValidators: true }
  );
  if (!item) return notFound(res, "TeamMember");
  res.json({ success: true, data: item });
}

export async function deleteTeamMember(req: TenantRequest, res: Response) {
  const result = await TeamMember.deleteOne({ _id: req.params.id, tenant: req.tenant });
  if (result.deletedCount === 0) return notFound(res, "TeamMember");
  res.status(204).end();
}
