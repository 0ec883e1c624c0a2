-- AlterTable
ALTER TABLE "Host" ADD COLUMN     "sweepOwner" TEXT,
ADD COLUMN     "sweepUntil" TIMESTAMP(3),
ADD COLUMN     "sweptAt" TIMESTAMP(3),
ADD COLUMN     "sweptBy" TEXT;

-- CreateIndex
CREATE INDEX "Event_at_idx" ON "Event"("at");

-- CreateIndex
CREATE INDEX "Event_action_at_idx" ON "Event"("action", "at");

