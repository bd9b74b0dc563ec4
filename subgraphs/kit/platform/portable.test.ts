import mongoose from 'mongoose';
import { CollectionChecksum, canonical, documentDigest, rebaseIds, tenantMask } from './portable';

const { ObjectId } = mongoose.mongo;

describe('portable documents', () => {
  const product = new ObjectId();
  const review = {
    _id: new ObjectId(),
    tenantId: 'acme',
    productId: product,
    rating: 4,
    body: 'fine',
    at: new Date('2026-01-02T03:04:05Z'),
  };

  it('rebases every ObjectId consistently and keeps the creation time', () => {
    const moved = rebaseIds(review, 'acme', 'acme-copy');
    const id = moved._id as InstanceType<typeof ObjectId>;
    expect(id.equals(review._id)).toBe(false);
    expect(id.getTimestamp().getTime()).toBe(review._id.getTimestamp().getTime());
    // Another document's reference to the same product lands on the same new id.
    const stock = rebaseIds({ _id: new ObjectId(), productId: product }, 'acme', 'acme-copy');
    expect((stock.productId as InstanceType<typeof ObjectId>).equals(moved.productId as never)).toBe(true);
    // And back again.
    const back = rebaseIds(moved, 'acme-copy', 'acme');
    expect((back._id as InstanceType<typeof ObjectId>).equals(review._id)).toBe(true);
  });

  it('gives a document and its re-import into another tenant the same digest', () => {
    const moved = { ...rebaseIds(review, 'acme', 'other'), tenantId: 'other' };
    expect(documentDigest(moved, 'other').equals(documentDigest(review, 'acme'))).toBe(true);
    expect(documentDigest({ ...review, rating: 5 }, 'acme').equals(documentDigest(review, 'acme'))).toBe(false);
    // The same stored document read as another tenant's is a different portable document.
    expect(documentDigest(review, 'other').equals(documentDigest(review, 'acme'))).toBe(false);
  });

  it('is order-independent and key-order-independent', () => {
    const a = { _id: new ObjectId(), tenantId: 't', x: 1, y: 'a' };
    const b = { y: 'b', _id: new ObjectId(), x: 2, tenantId: 't' };
    const one = new CollectionChecksum();
    one.add(a, 't');
    one.add(b, 't');
    const two = new CollectionChecksum();
    two.add({ y: b.y, x: b.x, tenantId: 't', _id: b._id }, 't');
    two.add(a, 't');
    expect(two.checksum).toBe(one.checksum);
    expect(two.count).toBe(2);
    const three = new CollectionChecksum();
    three.add(a, 't');
    expect(three.checksum).not.toBe(one.checksum);
  });

  it('refuses documents nested beyond the bound', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 20; i++) deep = { d: deep };
    expect(() => canonical(deep)).toThrow('document too deep');
  });

  it('derives distinct masks per tenant', () => {
    expect(tenantMask('a').equals(tenantMask('b'))).toBe(false);
    expect(tenantMask('a')).toHaveLength(5);
  });
});
