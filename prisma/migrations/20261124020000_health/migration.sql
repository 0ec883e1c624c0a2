-- AlterTable
ALTER TABLE "Host" ADD COLUMN "downReason" TEXT;
ALTER TABLE "Host" ADD COLUMN "downSince" DATETIME;

-- AlterTable
ALTER TABLE "Instance" ADD COLUMN "restartWindowAt" DATETIME;

-- AlterTable
ALTER TABLE "HealthCheck" ADD COLUMN "status" TEXT;

-- CreateIndex
CREATE INDEX "HealthCheck_at_idx" ON "HealthCheck"("at");

