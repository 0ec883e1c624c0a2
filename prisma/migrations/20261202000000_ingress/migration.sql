-- AlterTable
ALTER TABLE "Host" ADD COLUMN "ingressAddress" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "Instance_subdomain_key" ON "Instance"("subdomain");
