-- AlterTable
ALTER TABLE "Host" ADD COLUMN     "downReason" TEXT,
ADD COLUMN     "downSince" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "Instance" ADD COLUMN     "restartWindowAt" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "HealthCheck" ADD COLUMN     "status" TEXT;

-- CreateIndex
CREATE INDEX "HealthCheck_at_idx" ON "HealthCheck"("at");

