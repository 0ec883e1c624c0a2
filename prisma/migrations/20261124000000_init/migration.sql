
-- CreateTable
CREATE TABLE "Host" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "address" TEXT NOT NULL,
    "port" INTEGER NOT NULL DEFAULT 22,
    "user" TEXT NOT NULL,
    "identityFile" TEXT,
    "hostKey" TEXT NOT NULL,
    "remoteRoot" TEXT NOT NULL DEFAULT '/opt/clawfleet',
    "shared" BOOLEAN NOT NULL DEFAULT false,
    "capacityMb" INTEGER,
    "status" TEXT NOT NULL DEFAULT 'active',
    "dockerOk" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "Instance" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "customerId" TEXT NOT NULL,
    "hostId" TEXT NOT NULL,
    "plan" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "statusReason" TEXT,
    "image" TEXT NOT NULL,
    "configHash" TEXT,
    "portSlot" INTEGER,
    "tokenHash" TEXT,
    "apiKeyFingerprint" TEXT,
    "subdomain" TEXT,
    "expiresAt" DATETIME,
    "consecutiveFailures" INTEGER NOT NULL DEFAULT 0,
    "restartCount" INTEGER NOT NULL DEFAULT 0,
    "lastRestartAt" DATETIME,
    "quarantinedAt" DATETIME,
    "lastHealthAt" DATETIME,
    "leaseOwner" TEXT,
    "leaseUntil" DATETIME,
    "leaseFence" INTEGER NOT NULL DEFAULT 0,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "Instance_hostId_fkey" FOREIGN KEY ("hostId") REFERENCES "Host" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "HealthCheck" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "instanceId" TEXT NOT NULL,
    "at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "ok" BOOLEAN NOT NULL,
    "latencyMs" INTEGER,
    "detail" TEXT,
    CONSTRAINT "HealthCheck_instanceId_fkey" FOREIGN KEY ("instanceId") REFERENCES "Instance" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Event" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "target" TEXT NOT NULL,
    "outcome" TEXT NOT NULL,
    "detail" TEXT
);

-- CreateIndex
CREATE UNIQUE INDEX "Host_name_key" ON "Host"("name");

-- CreateIndex
CREATE UNIQUE INDEX "Instance_customerId_key" ON "Instance"("customerId");

-- CreateIndex
CREATE UNIQUE INDEX "Instance_hostId_portSlot_key" ON "Instance"("hostId", "portSlot");

-- CreateIndex
CREATE INDEX "HealthCheck_instanceId_at_idx" ON "HealthCheck"("instanceId", "at");

-- CreateIndex
CREATE INDEX "Event_target_at_idx" ON "Event"("target", "at");

