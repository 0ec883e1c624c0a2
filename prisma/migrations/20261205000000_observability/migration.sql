-- AlterTable
ALTER TABLE "Host" ADD COLUMN "sweepOwner" TEXT;
ALTER TABLE "Host" ADD COLUMN "sweepUntil" DATETIME;
ALTER TABLE "Host" ADD COLUMN "sweptAt" DATETIME;
ALTER TABLE "Host" ADD COLUMN "sweptBy" TEXT;

-- CreateIndex
CREATE INDEX "Event_at_idx" ON "Event"("at");

-- CreateIndex
CREATE INDEX "Event_action_at_idx" ON "Event"("action", "at");

