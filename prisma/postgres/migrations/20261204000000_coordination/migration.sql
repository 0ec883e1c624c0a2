-- AlterTable
ALTER TABLE "Host" ADD COLUMN     "memTotalMb" INTEGER,
ADD COLUMN     "transfer" TEXT;

-- AlterTable
ALTER TABLE "Instance" ADD COLUMN     "containerLeft" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "leaseSince" TIMESTAMP(3),
ADD COLUMN     "memoryMb" INTEGER;

-- CreateTable
CREATE TABLE "RunSlot" (
    "hostId" TEXT NOT NULL,
    "slot" INTEGER NOT NULL,
    "owner" TEXT NOT NULL,
    "label" TEXT,
    "since" TIMESTAMP(3) NOT NULL,
    "until" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "RunSlot_pkey" PRIMARY KEY ("hostId","slot")
);

-- CreateTable
CREATE TABLE "IdempotencyKey" (
    "key" TEXT NOT NULL,
    "operation" TEXT NOT NULL,
    "requestHash" TEXT NOT NULL,
    "customerId" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "result" TEXT,
    "owner" TEXT NOT NULL,
    "until" TIMESTAMP(3) NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "IdempotencyKey_pkey" PRIMARY KEY ("key")
);

-- AddForeignKey
ALTER TABLE "RunSlot" ADD CONSTRAINT "RunSlot_hostId_fkey" FOREIGN KEY ("hostId") REFERENCES "Host"("id") ON DELETE CASCADE ON UPDATE CASCADE;

