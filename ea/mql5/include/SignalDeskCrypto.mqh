//+------------------------------------------------------------------+
//| SignalDeskCrypto.mqh: SHA-256, HMAC-SHA256, hex and nonces       |
//| The request signature of the /ea/v1 protocol (see README):       |
//|   hex(HMAC-SHA256(secret, METHOD\nPATH\nTIMESTAMP\nNONCE\n        |
//|                       hex(SHA256(BODY))))                        |
//| Known vector (tests/ea_client/test_client_wire.py):              |
//|   secret "secret", GET /ea/v1/commands?wait=25, 1700000000,      |
//|   nonce "nnnnnnnnnnnnnnnn", empty body ->                        |
//|   ed937a8dee179f75cdde04ffb36a262090fc2b3395c2cf2b12c80200d46b2cb9 |
//+------------------------------------------------------------------+

#define SD_HMAC_BLOCK 64
//--- SHA-256 of zero bytes (FIPS 180-4). Every GET hashes an empty body; CryptEncode's
//--- documentation does not promise a digest for empty input (0 means "error"), so the
//--- known value is used instead of asking it.
#define SD_SHA256_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

//--- UTF-8 bytes of a string, without the terminating zero
void SdUtf8(const string text,uchar &out[])
  {
   int n=StringToCharArray(text,out,0,WHOLE_ARRAY,CP_UTF8);
   ArrayResize(out,MathMax(n-1,0));
  }

//--- lowercase hex of bytes
string SdHex(const uchar &data[])
  {
   string digits="0123456789abcdef";
   string out="";
   for(int i=0;i<ArraySize(data);i++)
     {
      out+=StringSubstr(digits,data[i]>>4,1);
      out+=StringSubstr(digits,data[i]&0x0F,1);
     }
   return out;
  }

//--- SHA-256 of bytes (CryptEncode ignores the key for hashes); false unless 32 bytes came
//--- back. Never called with empty input by the signer (see SD_SHA256_EMPTY); HMAC inputs
//--- are never empty (64-byte blocks).
bool SdSha256(const uchar &data[],uchar &digest[])
  {
   uchar nokey[];
   return CryptEncode(CRYPT_HASH_SHA256,data,nokey,digest)==32 && ArraySize(digest)==32;
  }

//--- lowercase hex SHA-256; "" only when CryptEncode failed on non-empty input
string SdSha256Hex(const uchar &data[])
  {
   if(ArraySize(data)==0)
      return SD_SHA256_EMPTY;
   uchar digest[];
   if(!SdSha256(data,digest))
      return "";
   return SdHex(digest);
  }

//--- HMAC-SHA256 (RFC 2104): H((K^opad) || H((K^ipad) || message)), 64-byte blocks
bool SdHmacSha256(const uchar &key[],const uchar &message[],uchar &mac[])
  {
   uchar block[];
   ArrayResize(block,SD_HMAC_BLOCK);
   ArrayInitialize(block,0);
   if(ArraySize(key)>SD_HMAC_BLOCK)
     {
      uchar hashed[];
      if(!SdSha256(key,hashed))
         return false;
      ArrayCopy(block,hashed);
     }
   else
      ArrayCopy(block,key);
   uchar inner[],outer[];
   ArrayResize(inner,SD_HMAC_BLOCK+ArraySize(message));
   ArrayResize(outer,SD_HMAC_BLOCK+32);
   for(int i=0;i<SD_HMAC_BLOCK;i++)
     {
      inner[i]=(uchar)(block[i]^0x36);
      outer[i]=(uchar)(block[i]^0x5C);
     }
   ArrayCopy(inner,message,SD_HMAC_BLOCK);
   uchar inner_hash[];
   if(!SdSha256(inner,inner_hash))
      return false;
   ArrayCopy(outer,inner_hash,SD_HMAC_BLOCK);
   return SdSha256(outer,mac);
  }

//--- the X-Signature header value ("" if hashing failed: the request is not sent then)
string SdSignature(const string secret,const string method,const string path_with_query,
                   const long timestamp,const string nonce,const uchar &body[])
  {
   string body_hash=SdSha256Hex(body);
   if(body_hash=="")
      return "";
   string message=method+"\n"+path_with_query+"\n"+IntegerToString(timestamp)+"\n"+nonce+"\n"
                  +body_hash;
   uchar key[],msg[],mac[];
   SdUtf8(secret,key);
   SdUtf8(message,msg);
   if(!SdHmacSha256(key,msg,mac))
      return "";
   return SdHex(mac);
  }

//--- a fresh nonce: 32 hex characters from a hash of clocks, a counter and MathRand
string SdNonce()
  {
   static long counter=0;
   counter++;
   string seed=StringFormat("%I64d|%I64u|%I64d|%d|%d|%d",(long)TimeGMT(),GetMicrosecondCount(),
                            counter,MathRand(),MathRand(),(int)GetTickCount());
   uchar data[];
   SdUtf8(seed,data);
   return StringSubstr(SdSha256Hex(data),0,32);
  }
//+------------------------------------------------------------------+
