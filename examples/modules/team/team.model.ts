import { Document, Schema, model } from "mongoose";
import { TranslatedField } from "../_shared/types";

export interface ITeamMember extends Document {
  tenant: string;
  fullName: string;
  position: TranslatedField;
  bio: TranslatedField;
  photo: string;
  linkedin: string;
  order: number;
}

const teamMemberSchema = new Schema<ITeamMember>(
  {
    tenant: { type: String, required: true, index: true },
    fullName: { type: String, required: true },
    position: { type: Object, default: {} },
    bio: { type: Object, default: {} },
    photo: { type: String, default: "" },
    linkedin: { type: String, default: "" },
    order: { type: Number, default: 0 },
  },
  { timestamps: true }
);

export const TeamMember = model<ITeamMember>("TeamMember", teamMemberSchema);
