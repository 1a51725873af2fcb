/// <reference types="astro/client" />

declare namespace App {
  interface Locals {
    /** The wired services, on pages rendered on demand and islands (set by the middleware). */
    services: import('@rose/app').Services;
    /** The signed-in user on pages rendered on demand (set by the middleware). */
    user?: import('@rose/app').SessionUser;
    session?: import('@rose/app').ValidSession;
    /** The origin the visitor used (set by the middleware; forwarded headers count only from trusted proxies). */
    origin: string;
  }
}
