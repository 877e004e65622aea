import { Request } from "express";

export const SUPPORTED_LOCALES = ["tr", "en", "de", "pl", "fr", "es"] as const;

export type SupportedLocale = (typeof SUPPORTED_LOCALES)[number];

/** A text with one value per locale, e.g. { tr: "Hakkımızda", en: "About us" }. */
export type TranslatedField = Partial<Record<SupportedLocale, string>>;

export type Role = "admin" | "editor" | "viewer";

export interface AuthUser {
  id: string;
  email: string;
  role: Role;
}

// Set by the tenant resolver (tenant, locale) and by `authenticate` (user).
declare global {
  namespace Express {
    interface Request {
      tenant: string;
      locale: SupportedLocale;
      user?: AuthUser;
    }
  }
}

export type TenantRequest = Request;
