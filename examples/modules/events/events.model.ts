import { Document, Schema, model } from "mongoose";
import { TranslatedField } from "../_shared/types";

export interface ICalendarEvent extends Document {
  tenant: string;
  title: TranslatedField;
  slug: string;
  location: string;
  startsAt: Date;
  endsAt: Date | null;
  capacity: number;
  isPublished: boolean;
}

const calendarEventSchema = new Schema<ICalendarEvent>(
  {
    tenant: { type: String, required: true, index: true },
    title: { type: Object, required: true },
    slug: { type: String, required: true, trim: true },
    location: { type: String, default: "" },
    startsAt: { type: Date, required: true },
    endsAt: { type: Date, default: null },
    capacity: { type: Number, default: 0 },
    isPublished: { type: Boolean, default: false },
  },
  { timestamps: true }
);

calendarEventSchema.index({ tenant: 1, slug: 1 }, { unique: true });

export const CalendarEvent = model<ICalendarEvent>("CalendarEvent", calendarEventSchema);
