-- CreateTable
CREATE TABLE "Backup" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "instanceId" TEXT NOT NULL,
    "customerId" TEXT NOT NULL,
    "hostName" TEXT NOT NULL,
    "plan" TEXT NOT NULL,
    "trigger" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "retention" TEXT NOT NULL DEFAULT 'plan',
    "at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" DATETIME,
    "bytes" BIGINT,
    "sha256" TEXT,
    "plainSha256" TEXT,
    "encrypted" BOOLEAN NOT NULL DEFAULT false,
    "recipient" TEXT,
    "path" TEXT NOT NULL,
    "detail" TEXT,
    CONSTRAINT "Backup_instanceId_fkey" FOREIGN KEY ("instanceId") REFERENCES "Instance" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "Backup_customerId_at_idx" ON "Backup"("customerId", "at");

-- CreateIndex
CREATE INDEX "Backup_status_at_idx" ON "Backup"("status", "at");

