package s3_test

import (
	"context"
	"testing"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/s3"
	"github.com/eusaas/eusaas/audit"
	"github.com/eusaas/eusaas/audit/audittest"
	"github.com/eusaas/eusaas/gdpr/gdprtest"
	"github.com/eusaas/eusaas/internal/miniotest"
	"github.com/eusaas/eusaas/platform"
	"github.com/eusaas/eusaas/storage"
	"github.com/eusaas/eusaas/storage/storagetest"
)

func open(t *testing.T, srv *miniotest.Server, bucket, query string) *s3.Bucket {
	t.Helper()
	cfg, err := s3.ParseURL("s3://" + bucket + "?endpoint=" + srv.Endpoint + "&region=" + srv.Region + query)
	if err != nil {
		t.Fatal(err)
	}
	cfg.AccessKey, cfg.SecretKey = srv.AccessKey, srv.SecretKey
	b, err := s3.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// One MinIO for the whole suite, a fresh bucket per subtest: with object lock (retention
// and SSE-S3 tested), without (retention refused), and with sse=none.
func TestConformance(t *testing.T) {
	srv := miniotest.Start(t)
	for _, v := range []struct {
		name  string
		lock  bool
		query string
		want  storage.Features
	}{
		{"ObjectLock", true, "", storage.Features{Retention: true, Encryption: true}},
		{"Plain", false, "&part_size_mib=5", storage.Features{Encryption: true}},
		{"NoSSE", false, "&sse=none", storage.Features{}},
		{"Prefixed", false, "", storage.Features{Encryption: true}},
	} {
		t.Run(v.name, func(t *testing.T) {
			storagetest.Run(t, storagetest.Harness{New: func(t *testing.T) storage.Bucket {
				name := srv.Bucket(t, v.lock)
				if v.name == "Prefixed" {
					name += "/some/prefix"
				}
				b := open(t, srv, name, v.query)
				if b.Features() != v.want {
					t.Fatalf("Features = %+v, want %+v", b.Features(), v.want)
				}
				return b
			}})
		})
	}
}

func TestParseURL(t *testing.T) {
	good, err := s3.ParseURL("s3://exports/eu/prod?endpoint=http://127.0.0.1:9000&region=eu-central-1&sse=AES256&part_size_mib=8")
	if err != nil {
		t.Fatal(err)
	}
	if good.Bucket != "exports" || good.Prefix != "eu/prod/" || good.Region != "eu-central-1" || good.SSE != "AES256" ||
		good.PartSize != 8<<20 || !good.PathStyle || good.Endpoint.Host != "127.0.0.1:9000" {
		t.Errorf("ParseURL = %+v", good)
	}
	aws, err := s3.ParseURL("s3://b?region=eu-west-3")
	if err != nil || aws.Endpoint.String() != "https://s3.eu-west-3.amazonaws.com" || aws.PathStyle {
		t.Errorf("AWS default = %+v, %v", aws, err)
	}
	for _, bad := range []string{"s3://", "http://b", "s3://user:secret@b", "s3://b?endpoint=ftp://x", "s3://b?endpoint=http://x/path",
		"s3://b?sse=maybe", "s3://b?part_size_mib=1", "s3://b?bogus=1", "s3://b?path_style=perhaps", "s3://b/../x"} {
		if _, err := s3.ParseURL(bad); err == nil {
			t.Errorf("ParseURL(%q) accepted", bad)
		}
	}
}

func TestOpenFailsClearly(t *testing.T) {
	srv := miniotest.Start(t)
	cfg, err := s3.ParseURL("s3://no-such-bucket?endpoint=" + srv.Endpoint + "&region=" + srv.Region)
	if err != nil {
		t.Fatal(err)
	}
	cfg.AccessKey, cfg.SecretKey = srv.AccessKey, srv.SecretKey
	if _, err := s3.Open(context.Background(), cfg); err == nil {
		t.Error("Open of a missing bucket succeeded")
	}
	cfg.Bucket = srv.Bucket(t, false)
	cfg.SecretKey = "wrong"
	if _, err := s3.Open(context.Background(), cfg); err == nil {
		t.Error("Open with a wrong secret succeeded")
	}
}

// The GDPR archive and audit checkpoint bridges on MinIO, with object lock: checkpoint copies
// are locked, and a second write of a locked checkpoint is a no-op, not an error.
func TestBridgesOnS3(t *testing.T) {
	srv := miniotest.Start(t)
	t.Run("Archives", func(t *testing.T) {
		gdprtest.RunArchives(t, gdprtest.Harness{New: func(t *testing.T) gdprtest.Stores {
			return gdprtest.Stores{Archives: platform.NewArchiveStore(open(t, srv, srv.Bucket(t, false), ""), "gdpr/")}
		}})
	})
	t.Run("Checkpoints", func(t *testing.T) {
		audittest.RunSink(t, audittest.SinkHarness{New: func(t *testing.T) audittest.SinkEnv {
			b := open(t, srv, srv.Bucket(t, true), "")
			return audittest.SinkEnv{
				Sink:   &platform.CheckpointStore{Bucket: b, Retain: time.Hour},
				Reopen: func(*testing.T) audit.CheckpointSource { return &platform.CheckpointStore{Bucket: b} },
			}
		}})
	})
	t.Run("CheckpointCopiesLocked", func(t *testing.T) {
		b := open(t, srv, srv.Bucket(t, true), "")
		cs := &platform.CheckpointStore{Bucket: b, Retain: time.Hour, Mode: storage.Compliance}
		cp := audittest.SignedCheckpoint(eusaas.NewTenantID(), 4)
		if err := cs.Write(context.Background(), cp); err != nil {
			t.Fatal(err)
		}
		objs, err := b.List(context.Background(), "audit/checkpoints/")
		if err != nil || len(objs) != 1 {
			t.Fatalf("List = %v, %v", objs, err)
		}
		if err := b.Delete(context.Background(), objs[0].Key); eusaas.KindOf(err) != eusaas.FailedPrecondition {
			t.Errorf("deleting a locked checkpoint copy: %v", err)
		}
		if err := cs.Write(context.Background(), cp); err != nil {
			t.Errorf("rewriting a locked checkpoint: %v", err)
		}
	})
}
