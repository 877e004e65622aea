import { NextFunction, Request, RequestHandler, Response } from "express";
import { SUPPORTED_LOCALES, SupportedLocale, TranslatedField } from "./types";

/** Forwards rejected promises of async handlers to the error middleware. */
export function asyncHandler<R extends Request>(
  fn: (req: R, res: Response, next: NextFunction) => Promise<unknown>
): RequestHandler {
  return (req, res, next) => {
    fn(req as R, res, next).catch(next);
  };
}

export function notFound(res: Response, what: string) {
  return res.status(404).json({ success: false, message: `${what} not found` });
}

/** Copies only the listed keys, so clients cannot set tenant or timestamps. */
export function pick<T extends object, K extends string>(
  body: T,
  keys: readonly K[]
): Partial<Record<K, unknown>> {
  const out: Partial<Record<K, unknown>> = {};
  for (const key of keys) {
    if (key in body) out[key] = (body as Record<string, unknown>)[key];
  }
  return out;
}

export function slugify(text: string): string {
  return text
    .toLocaleLowerCase("tr")
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/ı/g, "i")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

/** The text for `locale`, falling back to English, then to any locale. */
export function translate(field: TranslatedField | undefined, locale: SupportedLocale): string {
  if (!field) return "";
  return field[locale] ?? field.en ?? SUPPORTED_LOCALES.map((l) => field[l]).find(Boolean) ?? "";
}

export function emptyTranslation(): TranslatedField {
  return Object.fromEntries(SUPPORTED_LOCALES.map((l) => [l, ""])) as TranslatedField;
}
