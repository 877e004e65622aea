import { NextFunction, Response } from "express";
import jwt from "jsonwebtoken";
import { AuthUser, Role, TenantRequest } from "./types";

const JWT_SECRET = process.env.JWT_SECRET ?? "";

export function authenticate(req: TenantRequest, res: Response, next: NextFunction) {
  const header = req.headers.authorization ?? "";
  const token = header.startsWith("Bearer ") ? header.slice(7) : "";
  if (!token) return res.status(401).json({ success: false, message: "Unauthorized" });
  try {
    req.user = jwt.verify(token, JWT_SECRET) as AuthUser;
    next();
  } catch {
    res.status(401).json({ success: false, message: "Invalid token" });
  }
}

export function requireRole(...roles: Role[]) {
  return (req: TenantRequest, res: Response, next: NextFunction) => {
    if (!req.user || !roles.includes(req.user.role)) {
      return res.status(403).json({ success: false, message: "Forbidden" });
    }
    next();
  };
}
