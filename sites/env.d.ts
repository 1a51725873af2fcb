/// <reference types="astro/client" />

declare namespace App {
  interface Locals {
    /** The signed-in user on pages rendered on demand (set by the middleware). */
    user?: import('@rose/auth').SessionUser;
    session?: import('@rose/auth').ValidSession;
    /** The origin the visitor used (set by the middleware; forwarded headers count only from trusted proxies). */
    origin: string;
  }
}
