//+------------------------------------------------------------------+
//| SignalDeskHttp.mqh: signed requests to /ea/v1 through WebRequest |
//| (and to the ingest API: the caller's id header is configurable,  |
//| X-Device-Id for the EA, X-Producer-Id for a producer).           |
//| The terminal must allow the server: Tools > Options > Expert     |
//| Advisors > "Allow WebRequest for listed URL" (else error 4014).  |
//| WebRequest blocks the EA's thread for up to `timeout_ms`: keep   |
//| the timeouts short (the EA long-polls a few seconds at a time).  |
//+------------------------------------------------------------------+
#include "SignalDeskCrypto.mqh"

#define SD_DEVICE_HEADER "X-Device-Id"

class CSdHttp
  {
private:
   string            m_origin;   // scheme://host[:port]
   string            m_prefix;   // a path prefix of the server URL, e.g. "/signaldesk"
   string            m_device;   // the caller's public id (a device's, or a producer's)
   string            m_id_header; // the header that carries it
   string            m_secret;
   int               m_error;    // GetLastError() of the last failed WebRequest (4014: not allowed)

public:
   int               LastError(void) { return m_error; }

   void              Init(const string server,const string device,const string secret,
                          const string id_header=SD_DEVICE_HEADER)
     {
      string url=server;
      while(StringLen(url)>0 && StringSubstr(url,StringLen(url)-1)=="/")
         url=StringSubstr(url,0,StringLen(url)-1);
      int scheme=StringFind(url,"://");
      int slash=StringFind(url,"/",scheme<0 ? 0 : scheme+3);
      m_origin=slash<0 ? url : StringSubstr(url,0,slash);
      m_prefix=slash<0 ? "" : StringSubstr(url,slash);
      m_device=device;
      m_secret=secret;
      m_id_header=id_header;
      m_error=0;
     }

   //--- HTTP status (200, 204, 401, ...) with the body in `answer`; -1 on a transport error
   int               Request(const string method,const string path,const string body,
                             string &answer,const int timeout_ms)
     {
      answer="";
      m_error=0;
      if(IsStopped())
         return -1;
      uchar data[];
      SdUtf8(body,data);
      long timestamp=(long)TimeGMT();
      string nonce=SdNonce();
      string path_with_query=m_prefix+path;
      string signature=SdSignature(m_secret,method,path_with_query,timestamp,nonce,data);
      if(StringLen(nonce)<16 || signature=="")
        {
         Print("SignalDesk: cannot sign ",method," ",path," (CryptEncode failed); not sent");
         return -1;
        }
      string headers="Content-Type: application/json\r\n"
                     +m_id_header+": "+m_device+"\r\n"
                     +"X-Timestamp: "+IntegerToString(timestamp)+"\r\n"
                     +"X-Nonce: "+nonce+"\r\n"
                     +"X-Signature: "+signature+"\r\n";
      uchar result[];
      string result_headers;
      ResetLastError();
      int status=WebRequest(method,m_origin+path_with_query,headers,timeout_ms,data,result,
                            result_headers);
      if(status==-1)
        {
         int error=GetLastError();
         m_error=error;
         if(error==4014)
            Print("SignalDesk: allow ",m_origin," in Tools > Options > Expert Advisors > "
                  "Allow WebRequest for listed URL");
         else
            Print("SignalDesk: ",method," ",path," failed, error ",error);
         answer="";
         return -1;
        }
      answer=CharArrayToString(result,0,WHOLE_ARRAY,CP_UTF8);
      if((status==401 || status==403) && m_id_header==SD_DEVICE_HEADER)
         Print("SignalDesk: refused (",status,"): check the device id, the secret and the PC "
               "clock (TimeGMT must be within 300 s): ",answer);
      return status;
     }
  };
//+------------------------------------------------------------------+
