-- AlterTable
ALTER TABLE "Host" ADD COLUMN "memTotalMb" INTEGER;
ALTER TABLE "Host" ADD COLUMN "transfer" TEXT;

-- CreateTable
CREATE TABLE "RunSlot" (
    "hostId" TEXT NOT NULL,
    "slot" INTEGER NOT NULL,
    "owner" TEXT NOT NULL,
    "label" TEXT,
    "since" DATETIME NOT NULL,
    "until" DATETIME NOT NULL,

    PRIMARY KEY ("hostId", "slot"),
    CONSTRAINT "RunSlot_hostId_fkey" FOREIGN KEY ("hostId") REFERENCES "Host" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "IdempotencyKey" (
    "key" TEXT NOT NULL PRIMARY KEY,
    "operation" TEXT NOT NULL,
    "requestHash" TEXT NOT NULL,
    "customerId" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "result" TEXT,
    "owner" TEXT NOT NULL,
    "until" DATETIME NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- AlterTable
-- Hand-written: Prisma's diff redefines the table for the NOT NULL column, and clawfleet applies a
-- migration inside one transaction, where PRAGMA foreign_keys=OFF is ignored, so DROP TABLE would
-- cascade-delete every HealthCheck row. SQLite adds a NOT NULL column with a constant default in place.
ALTER TABLE "Instance" ADD COLUMN "leaseSince" DATETIME;
ALTER TABLE "Instance" ADD COLUMN "memoryMb" INTEGER;
ALTER TABLE "Instance" ADD COLUMN "containerLeft" BOOLEAN NOT NULL DEFAULT false;
