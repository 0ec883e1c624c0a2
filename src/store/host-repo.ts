import { ConflictError, NotFoundError } from "../errors.js";
import type { PrismaClient } from "./generated/sqlite/client.js";
import { isUniqueViolation } from "./retry.js";
import type { HostRecord, HostRepo } from "./types.js";

export function hostRepo(db: PrismaClient): HostRepo {
  return {
    async create(host) {
      try {
        return await db.host.create({ data: host });
      } catch (err) {
        if (isUniqueViolation(err, "name")) throw duplicate(host.name);
        throw err;
      }
    },
    get: (name) => db.host.findUnique({ where: { name } }),
    getById: (id) => db.host.findUnique({ where: { id } }),
    list: () => db.host.findMany({ orderBy: { name: "asc" } }),
    async update(name, patch) {
      const found = await db.host.findUnique({ where: { name } });
      if (!found) throw notFound(name);
      return db.host.update({ where: { name }, data: patch });
    },
    async remove(name) {
      const res = await db.host.deleteMany({ where: { name } });
      if (res.count === 0) throw notFound(name);
    },
  } satisfies HostRepo as HostRepo & { _row?: HostRecord };
}

function duplicate(name: string): ConflictError {
  return new ConflictError(`a host named ${name} already exists`, `pick another name, or see it with \`clawfleet hosts list\``);
}

export function notFound(name: string): NotFoundError {
  return new NotFoundError(`no host named ${name}`, "see the registered hosts with `clawfleet hosts list`");
}
