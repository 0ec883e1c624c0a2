-- AlterTable
ALTER TABLE "Instance" ADD COLUMN "settings" TEXT;
