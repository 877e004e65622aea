import { Document, Schema, model } from "mongoose";
import { TranslatedField } from "../_shared/types";

export interface IAboutSection extends Document {
  tenant: string;
  title: TranslatedField;
  body: TranslatedField;
  image: string;
  order: number;
  isActive: boolean;
}

const aboutSectionSchema = new Schema<IAboutSection>(
  {
    tenant: { type: String, required: true, index: true },
    title: { type: Object, required: true },
    body: { type: Object, default: {} },
    image: { type: String, default: "" },
    order: { type: Number, default: 0 },
    isActive: { type: Boolean, default: true },
  },
  { timestamps: true }
);

export const AboutSection = model<IAboutSection>("AboutSection", aboutSectionSchema);
