import { Document, Schema, model } from "mongoose";
import { TranslatedField } from "../_shared/types";

export interface IPortfolioItem extends Document {
  tenant: string;
  title: TranslatedField;
  slug: string;
  client: string;
  description: TranslatedField;
  images: string[];
  completedAt: Date | null;
}

const portfolioItemSchema = new Schema<IPortfolioItem>(
  {
    tenant: { type: String, required: true, index: true },
    title: { type: Object, required: true },
    slug: { type: String, required: true, trim: true },
    client: { type: String, default: "" },
    description: { type: Object, default: {} },
    images: { type: [String], default: [] },
    completedAt: { type: Date, default: null },
  },
  { timestamps: true }
);

portfolioItemSchema.index({ tenant: 1, slug: 1 }, { unique: true });

export const PortfolioItem = model<IPortfolioItem>("PortfolioItem", portfolioItemSchema);
