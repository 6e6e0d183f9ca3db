/* A stand-in for libWeWorkFinanceSdk_C.so implementing the SDK's C API (WeWorkFinanceSdk_C.h),
 * built by tests/test_sdk_ctypes.py to prove the ctypes layer: argument types, buffers read by
 * length (its payloads hold NUL bytes), and every slice and media buffer freed. Not Tencent's code;
 * it only answers with fixed test data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Slice_t { char *buf; int len; } Slice_t;
typedef struct MediaData { char *outindexbuf; int out_len; char *data; int data_len; int is_finish; } MediaData_t;
typedef struct WeWorkFinanceSdk_t { int inited; } WeWorkFinanceSdk_t;

static int live_slices, live_media, live_sdks;
static unsigned long long last_seq;
static unsigned int last_limit;
static int last_timeout;
static char last_proxy[256], last_passwd[256];

#define MEDIA_CHUNK 1000
#define MEDIA_CHUNKS 3

static void fill(char **buf, int *len, const char *data, int n) {
    *buf = malloc(n);
    memcpy(*buf, data, n);
    *len = n;
}

WeWorkFinanceSdk_t *NewSdk(void) { live_sdks++; return calloc(1, sizeof(WeWorkFinanceSdk_t)); }
void DestroySdk(WeWorkFinanceSdk_t *sdk) { if (sdk) { live_sdks--; free(sdk); } }

int Init(WeWorkFinanceSdk_t *sdk, const char *corpid, const char *secret) {
    if (strcmp(corpid, "wwstub") != 0 || strcmp(secret, "s3cret") != 0) return 10000;
    sdk->inited = 1;
    return 0;
}

Slice_t *NewSlice(void) { live_slices++; return calloc(1, sizeof(Slice_t)); }
void FreeSlice(Slice_t *s) { if (s) { live_slices--; free(s->buf); free(s); } }
char *GetContentFromSlice(Slice_t *s) { return s->buf; }
int GetSliceLen(Slice_t *s) { return s->len; }

int GetChatData(WeWorkFinanceSdk_t *sdk, unsigned long long seq, unsigned int limit, const char *proxy,
                const char *passwd, int timeout, Slice_t *out) {
    char json[512];
    last_seq = seq; last_limit = limit; last_timeout = timeout;
    snprintf(last_proxy, sizeof last_proxy, "%s", proxy);
    snprintf(last_passwd, sizeof last_passwd, "%s", passwd);
    if (!sdk->inited) return 10000;
    if (seq == 999) return 10001;
    int n = snprintf(json, sizeof json,
                     "{\"errcode\":0,\"errmsg\":\"ok\",\"chatdata\":[{\"seq\":%llu,\"msgid\":\"m\","
                     "\"publickey_ver\":1,\"encrypt_random_key\":\"k\",\"encrypt_chat_msg\":\"c\"}]}", seq + 1);
    fill(&out->buf, &out->len, json, n);
    return 0;
}

int DecryptData(const char *encrypt_key, const char *encrypt_msg, Slice_t *out) {
    if (strcmp(encrypt_key, "k") != 0) return 10006;
    int n = (int)strlen(encrypt_msg);
    char *plain = malloc(n + 5);
    memcpy(plain, encrypt_msg, n);
    memcpy(plain + n, "\0tail", 5); /* a NUL inside the payload: only the length tells where it ends */
    fill(&out->buf, &out->len, plain, n + 5);
    free(plain);
    return 0;
}

MediaData_t *NewMediaData(void) { live_media++; return calloc(1, sizeof(MediaData_t)); }
void FreeMediaData(MediaData_t *m) { if (m) { live_media--; free(m->outindexbuf); free(m->data); free(m); } }
char *GetOutIndexBuf(MediaData_t *m) { return m->outindexbuf; }
char *GetData(MediaData_t *m) { return m->data; }
int GetIndexLen(MediaData_t *m) { return m->out_len; }
int GetDataLen(MediaData_t *m) { return m->data_len; }
int IsMediaDataFinish(MediaData_t *m) { return m->is_finish; }

int GetMediaData(WeWorkFinanceSdk_t *sdk, const char *indexbuf, const char *sdkfileid, const char *proxy,
                 const char *passwd, int timeout, MediaData_t *m) {
    char chunk[MEDIA_CHUNK], next[16];
    if (!sdk->inited || strcmp(sdkfileid, "file1") != 0) return 10005;
    int part = indexbuf[0] ? atoi(indexbuf) : 0;
    for (int i = 0; i < MEDIA_CHUNK; i++) chunk[i] = (char)((part * MEDIA_CHUNK + i) % 251);
    fill(&m->data, &m->data_len, chunk, MEDIA_CHUNK);
    int n = snprintf(next, sizeof next, "%d", part + 1);
    fill(&m->outindexbuf, &m->out_len, next, n);
    m->is_finish = part + 1 >= MEDIA_CHUNKS;
    return 0;
}

/* For the tests only: what is still allocated, and what the last GetChatData call received. */
int StubLive(void) { return live_slices + 1000 * live_media + 1000000 * live_sdks; }
unsigned long long StubLastSeq(void) { return last_seq; }
unsigned int StubLastLimit(void) { return last_limit; }
int StubLastTimeout(void) { return last_timeout; }
const char *StubLastProxy(void) { return last_proxy; }
const char *StubLastPasswd(void) { return last_passwd; }
