import { Document, Schema, model } from "mongoose";
import { TranslatedField } from "../_shared/types";

export interface IGalleryItem extends Document {
  tenant: string;
  title: TranslatedField;
  imageUrl: string;
  thumbnailUrl: string;
  album: string;
  order: number;
  isPublished: boolean;
}

const galleryItemSchema = new Schema<IGalleryItem>(
  {
    tenant: { type: String, required: true, index: true },
    title: { type: Object, default: {} },
    imageUrl: { type: String, required: true },
    thumbnailUrl: { type: String, default: "" },
    album: { type: String, default: "general", index: true },
    order: { type: Number, default: 0 },
    isPublished: { type: Boolean, default: true },
  },
  { timestamps: true }
);

export const GalleryItem = model<IGalleryItem>("GalleryItem", galleryItemSchema);
