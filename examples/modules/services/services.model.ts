import { Document, Schema, model } from "mongoose";
import { TranslatedField } from "../_shared/types";

export interface IService extends Document {
  tenant: string;
  title: TranslatedField;
  slug: string;
  description: TranslatedField;
  icon: string;
  order: number;
  isActive: boolean;
}

const serviceSchema = new Schema<IService>(
  {
    tenant: { type: String, required: true, index: true },
    title: { type: Object, required: true },
    slug: { type: String, required: true, trim: true },
    description: { type: Object, default: {} },
    icon: { type: String, default: "briefcase" },
    order: { type: Number, default: 0 },
    isActive: { type: Boolean, default: true },
  },
  { timestamps: true }
);

serviceSchema.index({ tenant: 1, slug: 1 }, { unique: true });

export const Service = model<IService>("Service", serviceSchema);
