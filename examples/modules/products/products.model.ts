import { Document, Schema, model } from "mongoose";
import { TranslatedField } from "../_shared/types";

export interface IProduct extends Document {
  tenant: string;
  name: TranslatedField;
  slug: string;
  sku: string;
  price: number;
  stock: number;
  images: string[];
  isActive: boolean;
}

const productSchema = new Schema<IProduct>(
  {
    tenant: { type: String, required: true, index: true },
    name: { type: Object, required: true },
    slug: { type: String, required: true, trim: true },
    sku: { type: String, required: true, uppercase: true },
    price: { type: Number, required: true, min: 0 },
    stock: { type: Number, default: 0, min: 0 },
    images: { type: [String], default: [] },
    isActive: { type: Boolean, default: true },
  },
  { timestamps: true }
);

productSchema.index({ tenant: 1, slug: 1 }, { unique: true });

export const Product = model<IProduct>("Product", productSchema);
